"""What students read: the from-scratch algorithms of the course.

Every module here is plain NumPy (with a PyTorch twin where that is natural)
and obeys three rules, checked by ``make lint`` (import-linter):

- it imports only NumPy, PyTorch, the standard library, other ``scratch``
  modules and ``course_utils.base``: no Matplotlib, no widgets, no exercise
  checks, no data loading;
- randomness arrives as an explicit ``rng`` (``np.random.default_rng(seed)``) or
  ``torch.Generator``; nothing reads a global seed;
- each module opens with the contract its functions keep.

The families and their contracts:

- **Layers** (``layers`` and, as the course grows, one module per family):
  ``<name>_forward(x, *params, **options) -> (out, cache)`` and
  ``<name>_backward(dout, cache) -> dx`` for a layer without parameters, or the
  tuple ``(dx, dparam_1, ...)`` in the order of the forward arguments. ``dout``
  has the shape of ``out``. ``tests/unit/scratch/test_layers.py`` checks every
  layer against finite differences and its PyTorch twin from one table row.
- **Losses** (``losses``): ``<name>_loss(pred, target) -> (loss, dpred)``, the
  mean over the batch and its gradient with respect to ``pred``.
- **Metrics** (``metrics``): ``name(pred, target) -> float``, NumPy or torch.
- **Iterative algorithms** (training runs, solvers) return a ``<Name>Result``
  dataclass: arrays per step in plural fields (``losses``, ``weights``), and
  ``diverged`` / ``message`` when a setting makes them blow up (reported, not
  raised; the test is ``base.blew_up``).

Modules: ``layers``, ``losses``, ``metrics``, ``gradcheck``, ``batches`` (the
shared pieces), then one module per algorithm family in chapter order
(``knn`` for chapter 01; ``diffusion`` and ``denoisers`` for chapter 19), and
``sample_quality``, the yardstick every generative chapter measures its samples with.
"""
