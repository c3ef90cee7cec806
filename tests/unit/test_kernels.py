"""Kernels talk over IPC (Unix sockets), so no kernel prints "running over TCP without encryption"."""
import os
import subprocess
import sys

import pytest

from course_utils.kernels import use_ipc_kernels

SCRIPT = r"""
import nbformat, papermill as pm, sys, tempfile, os
from course_utils.kernels import use_ipc_kernels
if sys.argv[1] == "ipc":
    use_ipc_kernels()
d = tempfile.mkdtemp(prefix="k-")
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbformat.write(nb, os.path.join(d, "a.ipynb"))
pm.execute_notebook(os.path.join(d, "a.ipynb"), os.path.join(d, "b.ipynb"), progress_bar=False, log_output=False)
"""


@pytest.mark.skipif(os.name != "posix", reason="IPC transport needs Unix sockets")
def test_the_default_transport_becomes_ipc():
    from jupyter_client import KernelManager

    assert use_ipc_kernels() is True
    assert KernelManager().transport == "ipc"


@pytest.mark.skipif(os.name != "posix", reason="IPC transport needs Unix sockets")
@pytest.mark.parametrize("transport, warns", [("tcp", True), ("ipc", False)])
def test_the_tcp_warning_appears_only_without_ipc(transport, warns):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, transport], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert ("running over TCP without encryption" in proc.stdout + proc.stderr) is warns
