(function(){
  var root = document.getElementById("__UID__"); if (!root) return;
  var frames = __FRAMES__;  // "i,j,..." -> index into images (identical frames are stored once)
  var images = __IMAGES__;
  var img = root.querySelector("img");
  var inputs = Array.prototype.slice.call(root.querySelectorAll("[data-i]"));
  function show(){
    var key = inputs.map(function(el){ return el.value; }).join(",");
    inputs.forEach(function(el){
      if (el.tagName === "INPUT") {
        var vals = JSON.parse(el.getAttribute("data-vals"));
        el.nextElementSibling.textContent = vals[+el.value];
      }
    });
    if (key in frames) img.src = "data:image/png;base64," + images[frames[key]];
  }
  inputs.sort(function(a, b){ return (+a.getAttribute("data-i")) - (+b.getAttribute("data-i")); });
  inputs.forEach(function(el){ el.addEventListener("input", show); el.addEventListener("change", show); });
  Array.prototype.forEach.call(root.querySelectorAll("[data-play]"), function(btn){
    var timer = null;
    btn.addEventListener("click", function(){
      var el = inputs[+btn.getAttribute("data-play")];
      if (timer) { clearInterval(timer); timer = null; btn.innerHTML = "&#9654;"; return; }
      btn.innerHTML = "&#10073;&#10073;";
      timer = setInterval(function(){
        el.value = (+el.value + 1) % (+el.max + 1); show();
        if (+el.value === +el.max) { clearInterval(timer); timer = null; btn.innerHTML = "&#9654;"; }
      }, 500);
    });
  });
})();
