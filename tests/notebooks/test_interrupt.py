"""A student presses stop (KeyboardInterrupt) in the middle of a long training cell.

The notebook must stay usable: the interrupted cell reports the interrupt, its progress bar
is closed, the variable it was assigning is not half-made, the next cell runs, and a chapter's
cached training run that was interrupted gives, when run again, the same numbers as in a
fresh process (nothing half-updated leaks into a later assert).
"""
from __future__ import annotations

import json
import os
import signal
import threading

import nbformat
import pytest
from helpers import ROOT
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

SETUP = """
import torch
from tqdm.auto import tqdm
from course_utils import training
from course_utils.chapters import ch09_regularization as ch
from course_utils.config import setup_notebook
setup_notebook()
X, y = torch.randn(256, 2, generator=torch.Generator().manual_seed(0)), torch.randn(256, 1)
model = torch.nn.Linear(2, 1)
print("ready", flush=True)
"""
LONG_FIT = """
history = training.fit(model, training.make_loader(X, y, 8), torch.nn.MSELoss(),
                       torch.optim.SGD(model.parameters(), lr=0.01), epochs=1_000_000)
"""
AFTER_FIT = """
assert "history" not in globals(), "the interrupted cell left a half-made result behind"
assert not tqdm._instances, f"{len(tqdm._instances)} progress bar(s) still open"
print("the next cell runs")
"""
LONG_CHAPTER = "ch.train_regularized(epochs=100_000)"
AGAIN = """
import json
_, h = ch.train_regularized(epochs=2)
print(json.dumps({"val_acc": h["val_acc"], "train_loss": h["train_loss"]}))
"""


def _run_interrupted(client: NotebookClient, nb, index: int, after: float) -> str:
    """Execute cell ``index``, interrupting the kernel after ``after`` seconds; returns the error name."""
    pid = client.km.provisioner.process.pid  # what the stop button does to a local kernel: SIGINT
    timer = threading.Timer(after, os.kill, (pid, signal.SIGINT))
    timer.start()
    try:
        client.execute_cell(nb.cells[index], index)
    except CellExecutionError as exc:
        return exc.ename
    finally:
        timer.cancel()
    return ""


@pytest.mark.slow
def test_interrupting_training_leaves_the_notebook_usable(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_PROGRESS_BARS", "1")
    monkeypatch.setenv("COURSE_TRACK_PROGRESS", "0")
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in
                                         (SETUP, LONG_FIT, AFTER_FIT, LONG_CHAPTER, AGAIN)])
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}})
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)
        assert _run_interrupted(client, nb, 1, after=4.0) == "KeyboardInterrupt"
        client.execute_cell(nb.cells[2], 2)
        assert "the next cell runs" in "".join(o.get("text", "") for o in nb.cells[2].outputs)
        assert _run_interrupted(client, nb, 3, after=3.0) == "KeyboardInterrupt"
        client.execute_cell(nb.cells[4], 4)
    printed = "".join(o.get("text", "") for o in nb.cells[4].outputs if o.get("name") == "stdout")
    after_interrupt = json.loads(printed.strip().splitlines()[-1])

    from course_utils.chapters import ch09_regularization as ch
    _, fresh = ch.train_regularized(epochs=2)
    assert after_interrupt == {"val_acc": fresh["val_acc"], "train_loss": fresh["train_loss"]}
