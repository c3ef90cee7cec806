"""course_utils.config: the set-up cell's side effects."""
import subprocess
import sys

SCRIPT = r"""
import gc
from course_utils import config
assert gc.get_freeze_count() == 0
config.setup_notebook(0)
first = gc.get_freeze_count()
garbage = [[] for _ in range(5000)]          # a first Run All's objects ...
config.setup_notebook(0)                     # ... are not frozen by the second Run All
print(first > 1000, gc.get_freeze_count() <= first)  # frozen objects freed by reference counting leave the count
"""


def test_setup_notebook_freezes_the_imports_once_per_process():
    """The first set-up freezes what is alive (imports), so full collections skip it; a second Run All's set-up
    freezes nothing more (it would pin the first run's garbage for good)."""
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["True", "True"], proc.stdout


def test_preserved_rng_puts_every_global_generator_back_even_after_an_error():
    import random

    import numpy as np
    import torch

    from course_utils.config import preserved_rng, seed_everything

    seed_everything(3)
    expected = random.random(), np.random.rand(), torch.rand(1).item()  # noqa: NPY002
    seed_everything(3)
    try:
        with preserved_rng():
            seed_everything(99)
            random.random(), np.random.rand(), torch.rand(5)  # noqa: NPY002
            raise ValueError("a frame that fails")
    except ValueError:
        pass
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected  # noqa: NPY002
