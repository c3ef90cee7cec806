"""The per-user disk cache: built once, read back, corrupt files detected by checksum and rebuilt."""
import numpy as np
import pytest

from course_utils import cache


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COURSE_CACHE", raising=False)
    return tmp_path / "cache"


def test_built_once_then_read(cache_dir):
    calls = []

    def build():
        calls.append(1)
        return {"w": np.arange(6.0).reshape(2, 3)}

    a = cache.cached("weights", build, version="v1")
    b = cache.cached("weights", build, version="v1")
    assert len(calls) == 1 and np.array_equal(a["w"], b["w"])
    cache.cached("weights", build, version="v2")  # a new version is a new entry
    assert len(calls) == 2
    assert sorted(p.suffix for p in cache_dir.iterdir()) == [".npz", ".npz", ".sha256", ".sha256"]


def test_a_corrupt_file_is_detected_and_rebuilt(cache_dir):
    cache.cached("t", lambda: {"x": np.ones(1000)})
    npz = next(cache_dir.glob("*.npz"))
    raw = bytearray(npz.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one flipped byte: still a file, wrong content
    npz.write_bytes(bytes(raw))
    with pytest.warns(UserWarning, match="damaged"):
        again = cache.cached("t", lambda: {"x": np.full(1000, 2.0)})
    assert np.all(again["x"] == 2.0)
    assert np.all(cache.cached("t", lambda: {"x": np.zeros(1)})["x"] == 2.0)  # the rebuilt entry is used


def test_a_truncated_file_is_rebuilt(cache_dir):
    cache.cached("t", lambda: {"x": np.ones(10)})
    npz = next(cache_dir.glob("*.npz"))
    npz.write_bytes(npz.read_bytes()[:20])
    with pytest.warns(UserWarning, match="damaged"):
        assert cache.cached("t", lambda: {"x": np.zeros(3)})["x"].shape == (3,)


def test_an_unwritable_cache_only_costs_recomputation(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(blocker / "cache"))
    assert cache.cached("t", lambda: {"x": np.ones(2)})["x"].sum() == 2


def test_the_cache_can_be_switched_off(cache_dir, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE", "0")
    calls = []
    for _ in range(2):
        cache.cached("t", lambda: calls.append(1) or {"x": np.ones(1)})
    assert len(calls) == 2 and not cache_dir.exists()


def test_shipped_parts_are_used_only_for_their_version_and_checksum(cache_dir, tmp_path):
    path = tmp_path / "shipped.npz"
    sha = cache.write_shipped(path, {"a": ({"w": np.arange(3.0)}, "v1"), "b": ({"w": np.ones(2)}, "v2")})
    shipped = cache.read_shipped(path, sha)
    np.testing.assert_array_equal(cache.from_shipped(shipped, "a", "v1")["w"], np.arange(3.0))
    assert cache.from_shipped(shipped, "a", "v2") is None and cache.from_shipped(shipped, "c", "v1") is None
    assert cache.read_shipped(path, "0" * 64) == {} and cache.read_shipped(tmp_path / "missing.npz", sha) == {}
    calls = []

    def build():
        calls.append(1)
        return {"w": np.zeros(1)}
    assert cache.cached_or_shipped("a", build, "v1", shipped)["w"].shape == (3,) and calls == []
    assert cache.cached_or_shipped("a", build, "v9", shipped)["w"].shape == (1,) and calls == [1]
    assert cache.cached_or_shipped("a", build, "v9", {})["w"].shape == (1,) and calls == [1]  # now in the disk cache


def test_training_differences_is_exact_on_one_machine_and_tolerant_only_where_told():
    """The ship tests' comparison: identical runs pass; a run that rounds differently passes within its
    tolerances; a changed trainer (an early loss off by 1 %, a flag flipped, an array gone) fails."""
    from helpers import Close, training_differences

    rng = np.random.default_rng(0)
    run = {"losses": rng.random(50) + 1, "model/w": rng.random((3, 3)), "diverged": np.asarray(False)}
    close = {"losses": Close(rtol=1e-5, first=10), "model/*": None}
    assert training_differences(run, dict(run), close) == []
    other_cpu = {**run, "losses": np.r_[run["losses"][:10] * (1 + 1e-7), run["losses"][10:] * 1.3],
                 "model/w": run["model/w"] + 0.5}
    assert training_differences(run, other_cpu, close) == []
    assert training_differences(run, other_cpu, {}) != []                      # no tolerance given: bit for bit
    changed = {**run, "losses": run["losses"] * 1.01}
    assert "losses" in training_differences(run, changed, close)[0]
    assert "diverged" in training_differences(run, {**other_cpu, "diverged": np.asarray(True)}, close)[0]
    assert "only one" in training_differences(run, {"losses": run["losses"]}, close)[0]
