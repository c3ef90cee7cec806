"""``python -m course_utils bench`` (``make bench``): what students and CI wait for, measured.

It measures, on this machine, one thing at a time:

- **chapters**: each chapter notebook executed ``repeat`` times in its default run (the
  median counts) and once in quick mode, with papermill (``kernels.run_notebook``: the
  notebook written once at the end, the kernel killed after its last cell, as in a student's
  Run All), one kernel at a time, each run with an empty disk cache (``course_utils.cache``):
  a student's first run;
- **widget frames**: at the end of every default run, every interactive figure the chapter
  declares renders each of its book frames (the controls' ``static`` grid) to PNG, never
  from its frame cache: each a first visit. Each frame's time is its median over the runs
  (:func:`median_frames`); the median and the worst of those count, and the report splits a
  frame's time into the frame function (computation and building the artists) and
  Matplotlib's drawing and PNG encoding;
- **book pages**: the size of every chapter page of a built book (``_build/html``, or
  ``--book DIR``), if there is one;
- **from scratch vs PyTorch**: the course's own layers and engines against their torch
  twins on realistic sizes, and the course's training loop against a bare torch loop,
  reported as ratios (machines differ; ratios travel).

It prints one table and writes it as ``bench.json`` and ``bench.md`` under
``_build/bench/`` (``--out``). Goals (issue "measured speed"): every chapter ≤ 20 s and
all chapters ≤ 5 min; frames median ≤ 0.10 s, worst ≤ 0.25 s; pages ≤ 1.5 MB.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .base import timed
from .kernels import run_notebook

GOALS = {"chapter_s": 20.0, "all_chapters_s": 300.0, "frame_median_s": 0.10, "frame_worst_s": 0.25,
         "page_mb": 1.5}

FRAME_TIMER = r'''
import json as _json, os as _os, itertools as _it, time as _time
from course_utils.widgets import REGISTRY as _REG
_out = []
for _fig in _REG:
    _names = list(_fig.controls)
    _axes = [_fig.controls[_n].static_values() for _n in _names]
    _times, _compute = [], []
    for _combo in list(_it.product(*_axes))[:80]:
        _t = _time.perf_counter()
        _c = _fig.draw_frame(dict(zip(_names, _combo)))[1]  # what a moved slider costs, never from the cache
        _times.append(_time.perf_counter() - _t)
        _compute.append(_c)                                  # the frame function's share: computation, artists
    _out.append({"widget": getattr(_fig.func, "__name__", "frame"), "seconds": _times, "compute_s": _compute})
with open(_os.environ["COURSE_BENCH_FRAMES"], "w") as _f:
    _json.dump(_out, _f)
'''


@dataclass
class ChapterTiming:
    chapter: str
    default_s: list[float] = field(default_factory=list)
    run_all_s: list[float] = field(default_factory=list)   # the same runs' cells only: what Run All takes
    quick_s: float | None = None
    frames: list[dict] = field(default_factory=list)
    error: str = ""

    @property
    def median_s(self) -> float | None:
        return statistics.median(self.default_s) if self.default_s else None


def _execute(nb_path: Path, parameters: dict, env: dict, inject: str | None = None) -> tuple[float, float]:
    """``(wall seconds, seconds in its cells)`` of one execution of ``nb_path`` (``kernels.run_notebook``, with an
    optional last cell, left out of both). The wall time adds starting the kernel and papermill's own work;
    the cells' time is what a student waits for after Run All in a running kernel."""
    import nbformat

    src = nb_path
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    if inject:
        nb = nbformat.read(str(nb_path), as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(inject))
        src = tmp / nb_path.name
        nbformat.write(nb, str(src))
    # an empty disk cache each time: what a student's first run costs, not a rerun's
    t0 = time.perf_counter()
    out = run_notebook(src, tmp / "out.ipynb", parameters=parameters, cwd=nb_path.parent,
                       env={**env, "COURSE_CACHE_DIR": str(tmp / "cache")})
    seconds = time.perf_counter() - t0
    durations = [c.get("metadata", {}).get("papermill", {}).get("duration") or 0.0 for c in out["cells"]]
    if inject:  # the chapter's time leaves out the injected cell (the frame timer draws every book frame)
        seconds -= durations.pop()
    return seconds, sum(durations)


def median_frames(runs: list[list[dict]]) -> list[dict]:
    """One frame list from the frame timer's lists of several default runs: per widget and setting, the median
    of the runs' times (each a first visit, in a fresh kernel), so that a moment of machine load in one run does
    not decide a chapter's frame goal. ``runs`` holds the same widgets and settings in the same order."""
    if not runs:
        return []
    out = []
    for widgets in zip(*runs):
        merged = {"widget": widgets[0]["widget"], "runs": len(widgets)}
        for key in ("seconds", "compute_s"):
            if all(key in w for w in widgets):
                merged[key] = [statistics.median(vals) for vals in zip(*(w[key] for w in widgets))]
        out.append(merged)
    return out


def time_chapters(root: Path, chapters: list[str], repeat: int = 3, log: Callable = print) -> list[ChapterTiming]:
    env = {"COURSE_QUICK": "0", "COURSE_TRACK_PROGRESS": "0", "COURSE_PROGRESS_BARS": "0",
           "COURSE_STRICT_CHECKS": "1"}
    out = []
    for nb_path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        if nb_path.name[:2] not in chapters:
            continue
        t = ChapterTiming(nb_path.stem)
        try:
            runs = []
            for _ in range(repeat):
                frames_file = Path(tempfile.mkstemp(suffix=".json")[1])
                wall, cells = _execute(nb_path, {}, {**env, "COURSE_BENCH_FRAMES": str(frames_file)}, FRAME_TIMER)
                t.default_s.append(wall)
                t.run_all_s.append(cells)
                runs.append(json.loads(frames_file.read_text() or "[]"))
                frames_file.unlink()
            t.frames = median_frames(runs)
            t.quick_s = _execute(nb_path, {"QUICK": True}, env)[0]
        except Exception as exc:  # one failing chapter must not hide the others' numbers
            t.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        log(f"  {t.chapter}: default {t.median_s or float('nan'):.1f} s (median of {len(t.default_s)}), "
            f"quick {t.quick_s or float('nan'):.1f} s" + (f"  ERROR {t.error}" if t.error else ""))
        out.append(t)
    return out


def weigh_pages(book: Path) -> dict[str, float]:
    """Megabytes a reader downloads for every chapter page (and the start page) of a built book:
    the HTML (with its static widget frames inline) plus every image it shows, each counted once.
    The theme's shared CSS and scripts, cached after the first page, are left out."""
    import re

    out = {}
    for page in sorted((book / "notebooks").glob("[0-9][0-9]_*.html")):
        html = page.read_text(encoding="utf-8")
        images = {(page.parent / src).resolve() for src in re.findall(r'<img[^>]+src="([^"]+\.(?:png|jpe?g|svg|gif))"', html)
                  if not src.startswith(("http:", "https:", "data:"))}
        out[page.stem] = (page.stat().st_size + sum(p.stat().st_size for p in images if p.exists())) / 1e6
    return out


def _best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    fn()  # warm-up: first-call costs (allocation, lazy imports) are not what we compare
    return timed(fn, repeat=repeat)[0]


def cases() -> list[tuple[str, Callable, Callable]]:
    """``(what, the course's version, PyTorch's)`` on realistic sizes, float32 where torch would use it."""
    import numpy as np
    import torch

    from .scratch import layers, losses

    rng = np.random.default_rng(0)
    out = []

    # an MLP layer on a batch: affine + ReLU forward and backward
    x, w, b = rng.standard_normal((256, 512)), rng.standard_normal((512, 256)) * 0.04, np.zeros(256)
    dout = rng.standard_normal((256, 256))

    def ours_affine():
        z, c1 = layers.affine_forward(x, w, b)
        a, c2 = layers.relu_forward(z)
        layers.affine_backward(layers.relu_backward(dout, c2), c1)

    xt, wt, bt = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    dt = torch.tensor(dout)

    def torch_affine():
        torch.relu(xt @ wt + bt).backward(dt)

    out.append(("affine + ReLU, 256×512→256, forward+backward (float64)", ours_affine, torch_affine))

    logits, y = rng.standard_normal((512, 100)), rng.integers(0, 100, 512)
    lt, yt = torch.tensor(logits, requires_grad=True), torch.tensor(y)
    out.append(("softmax cross-entropy, 512×100, value+gradient",
                lambda: losses.softmax_cross_entropy(logits, y),
                lambda: torch.nn.functional.cross_entropy(lt, yt).backward()))

    for extra in _optional_cases(rng):
        out.append(extra)
    return out


def _optional_cases(rng) -> list[tuple[str, Callable, Callable]]:
    """Cases for modules of later chapters: convolution, the LSTM step, multi-head attention, the
    autodiff engine, and the course training loop against a bare PyTorch loop."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from . import training
    from .scratch import attention, autodiff, conv, recurrent

    out = []
    # a convolutional layer of chapter 10's size: 32 digits, 8 → 16 channels, 3×3, padding 1
    x, w, b = rng.standard_normal((32, 8, 14, 14)), rng.standard_normal((16, 8, 3, 3)) * 0.1, np.zeros(16)
    dout = rng.standard_normal((32, 16, 14, 14))

    def ours_conv():
        _, cache = conv.conv2d_forward(x, w, b, padding=1)
        conv.conv2d_backward(dout, cache)

    xt, wt, bt = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    dt = torch.tensor(dout)
    out.append(("conv2d via im2col, 32×8×14×14, 16 filters 3×3, forward+backward (float64)", ours_conv,
                lambda: F.conv2d(xt, wt, bt, padding=1).backward(dt)))

    # one LSTM step: batch 64, 128 inputs, 256 hidden units
    n, d, H = 64, 128, 256
    xs, h, c = rng.standard_normal((n, d)), rng.standard_normal((n, H)), rng.standard_normal((n, H))
    Wx, Wh, bias = rng.standard_normal((d, 4 * H)) * 0.05, rng.standard_normal((H, 4 * H)) * 0.05, np.zeros(4 * H)
    dh, dc = rng.standard_normal((n, H)), rng.standard_normal((n, H))

    def ours_lstm():
        _, cache = recurrent.lstm_cell_forward(xs, h, c, Wx, Wh, bias)
        recurrent.lstm_cell_backward((dh, dc), cache)

    cell = torch.nn.LSTMCell(d, H).double()
    xst, ht, ct = (torch.tensor(v, requires_grad=True) for v in (xs, h, c))
    dht, dct = torch.tensor(dh), torch.tensor(dc)

    def torch_lstm():
        h2, c2 = cell(xst, (ht, ct))
        torch.autograd.backward((h2, c2), (dht, dct))

    out.append(("LSTM cell step, batch 64, 128→256, forward+backward (float64)", ours_lstm, torch_lstm))

    # multi-head self-attention of chapter 15's size: 32 sequences of 64 tokens, width 64, 4 heads
    q = rng.standard_normal((32, 64, 64))
    Ws = [rng.standard_normal((64, 64)) * 0.1 for _ in range(4)]
    bs = [np.zeros(64) for _ in range(4)]
    dq = rng.standard_normal((32, 64, 64))

    def ours_mha():
        _, cache = attention.multi_head_attention_forward(q, q, q, Ws[0], Ws[1], Ws[2], bs[0], bs[1], bs[2], Ws[3],
                                                          bs[3], heads=4)
        attention.multi_head_attention_backward(dq, cache)

    mha = torch.nn.MultiheadAttention(64, 4, batch_first=True).double()
    qt, dqt = torch.tensor(q, requires_grad=True), torch.tensor(dq)
    out.append(("multi-head self-attention, 32×64 tokens, width 64, 4 heads, forward+backward (float64)", ours_mha,
                lambda: mha(qt, qt, qt, need_weights=False)[0].backward(dqt)))

    # the autodiff engine of chapter 06: one training step's graph of a 64-32-10 MLP on 128 examples
    X, y = rng.standard_normal((128, 64)), rng.integers(0, 10, 128)
    net = autodiff.TensorMLP([64, 32, 10], np.random.default_rng(0))

    def ours_engine():
        net.zero_grad()
        autodiff.cross_entropy(net(X), y).backward()

    torch_net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)).double()
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def torch_engine():
        torch_net.zero_grad()
        F.cross_entropy(torch_net(Xt), yt).backward()

    out.append(("autodiff engine, 64-32-10 MLP on 128 examples, loss+gradients (float64)", ours_engine, torch_engine))

    # the course's training loop (progress, history, divergence checks) against a bare loop: one epoch
    Xl, yl = rng.standard_normal((2048, 20)).astype(np.float32), rng.integers(0, 2, 2048)
    loader = training.make_loader(Xl, yl, 64)
    model = torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def bare_loop():
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()

    out.append(("training.fit, one epoch of 32 batches, against a bare PyTorch loop",
                lambda: training.fit(model, loader, F.cross_entropy, opt, epochs=1, device="cpu", progress=False),
                bare_loop))
    return out


def micro_benchmarks() -> list[dict]:
    """``[{"what", "scratch_s", "torch_s", "ratio"}]``: the course's code against PyTorch, same sizes."""
    rows = []
    for what, ours, theirs in cases():
        try:
            a, b = _best_of(ours), _best_of(theirs)
            rows.append({"what": what, "scratch_s": a, "torch_s": b, "ratio": a / b})
        except Exception as exc:
            rows.append({"what": what, "error": f"{type(exc).__name__}: {exc}"})
    return rows


def render_table(result: dict) -> str:
    """The Markdown report (also printed)."""
    g = result["goals"]
    lines = ["# Benchmark", "", f"machine: {result['machine']}", ""]
    ch = result["chapters"]
    if ch:
        lines += ["## Chapters (one at a time)", "",
                  "| chapter | default (median) | its cells (Run All) | quick | frames: median | worst | drawing share "
                  "| goal |",
                  "|---|---|---|---|---|---|---|---|"]
        total = 0.0
        for t in ch:
            secs = [s for w in t["frames"] for s in w["seconds"]]
            med = statistics.median(secs) if secs else float("nan")
            worst = max(secs) if secs else float("nan")
            m = statistics.median(t["default_s"]) if t["default_s"] else float("nan")
            total += 0 if m != m else m
            ok = (m <= g["chapter_s"]) and (not secs or (med <= g["frame_median_s"] and worst <= g["frame_worst_s"]))
            q = f"{t['quick_s']:.1f} s" if t["quick_s"] else "–"
            compute = sum(s for w in t["frames"] for s in w.get("compute_s", []))
            share = f"{1 - compute / sum(secs):.0%}" if secs and any("compute_s" in w for w in t["frames"]) else "–"
            cells = statistics.median(t["run_all_s"]) if t.get("run_all_s") else float("nan")
            lines.append(f"| {t['chapter']} | {m:.1f} s | {cells:.1f} s | {q} | {med:.3f} s | {worst:.3f} s | {share} | "
                         f"{'ok' if ok and not t['error'] else 'MISSED' if not t['error'] else 'ERROR'} |")
        lines += ["", f"all chapters: {total:.0f} s (goal ≤ {g['all_chapters_s']:.0f} s). The goal is checked on the "
                  "default run's wall time, from starting the kernel until the executed notebook is written; the cells' time leaves "
                  "out starting the kernel and papermill's own work.", ""]
    if result["pages_mb"]:
        lines += ["## Book pages", "", "| page | MB | goal |", "|---|---|---|"]
        lines += [f"| {k} | {v:.2f} | {'ok' if v <= g['page_mb'] else 'MISSED'} |" for k, v in result["pages_mb"].items()]
        lines.append("")
    if result["micro"]:
        lines += ["## From scratch vs PyTorch (best of 5; ratio = scratch / torch)", "", "| what | scratch | torch | ratio |",
                  "|---|---|---|---|"]
        for r in result["micro"]:
            if "error" in r:
                lines.append(f"| {r['what']} | – | – | {r['error']} |")
            else:
                lines.append(f"| {r['what']} | {r['scratch_s'] * 1e3:.2f} ms | {r['torch_s'] * 1e3:.2f} ms | "
                             f"{r['ratio']:.1f}× |")
    return "\n".join(lines) + "\n"


def run(root: Path, out: Path, chapters: list[str], repeat: int = 3, book: Path | None = None,
        micro: bool = True, log: Callable = print) -> dict:
    import platform

    import torch

    from .kernels import use_ipc_kernels

    use_ipc_kernels()
    result: dict = {"machine": f"{platform.platform()}, {os.cpu_count()} cores, torch {torch.__version__}, "
                               f"{torch.get_num_threads()} threads",
                    "goals": GOALS, "chapters": [], "pages_mb": {}, "micro": []}
    if chapters:
        log("chapters:")
        result["chapters"] = [asdict(t) for t in time_chapters(root, chapters, repeat, log)]
    book = book or root / "_build" / "html"
    if (book / "notebooks").is_dir():
        result["pages_mb"] = weigh_pages(book)
    if micro:
        log("from scratch vs torch:")
        result["micro"] = micro_benchmarks()
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(result, indent=1))
    table = render_table(result)
    (out / "bench.md").write_text(table)
    log(table)
    return result


def main(argv: list[str] | None = None) -> int:
    import argparse

    from .profiles import available_chapters, parse_chapters

    p = argparse.ArgumentParser(prog="python -m course_utils bench", description=__doc__.splitlines()[0])
    p.add_argument("--root", default=".")
    p.add_argument("--out", default="_build/bench")
    p.add_argument("--chapters", default="all", help='e.g. "01-07"; "none" skips the chapters')
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--book", default=None, help="a built book to weigh (default: _build/html if present)")
    p.add_argument("--no-micro", action="store_true")
    a = p.parse_args(argv)
    root = Path(a.root)
    chosen = [] if a.chapters == "none" else parse_chapters(a.chapters, available_chapters(root))
    result = run(root, Path(a.out), chosen, a.repeat, Path(a.book) if a.book else None, not a.no_micro)
    failed = [t["chapter"] for t in result["chapters"] if t["error"]]
    if failed:  # make test runs the default size only: a quick run that fails shows up here
        print(f"FAILED: {', '.join(failed)} (see the ERROR lines above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
