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


@pytest.mark.skipif(os.name != "posix", reason="IPC transport needs Unix sockets")
def test_two_kernels_from_one_folder_get_their_own_sockets(tmp_path, monkeypatch):
    """nbval and papermill start kernels from the same notebooks/ folder at the same time."""
    from jupyter_client import KernelManager

    use_ipc_kernels()
    monkeypatch.chdir(tmp_path)
    managers = [KernelManager(kernel_name="python3") for _ in range(2)]
    try:
        for km in managers:
            km.start_kernel()
        for km in managers:
            client = km.client()
            client.start_channels()
            client.wait_for_ready(timeout=120)
            client.stop_channels()
        assert managers[0].ip != managers[1].ip and all(os.path.isabs(km.ip) for km in managers)
        assert list(tmp_path.iterdir()) == []  # no socket files in the working folder
    finally:
        for km in managers:
            km.shutdown_kernel(now=True)


def test_run_notebook_injects_parameters_sets_the_environment_and_restores_it(tmp_path, monkeypatch):
    """The tests' and the benchmark's runner: parameters and env reach the kernel, the caller's env comes back,
    and papermill writes the notebook once at the end instead of before and after every cell."""
    import nbformat
    import papermill.engines

    from course_utils.kernels import run_notebook

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("N = 1", metadata={"tags": ["parameters"]})]
                                  + [nbformat.v4.new_code_cell(c) for c in (
                                      "import os", "seen = (N, os.environ.get('CU_A'), os.environ.get('CU_B'))",
                                      "print(seen)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "a.ipynb")
    monkeypatch.setenv("CU_A", "caller")
    monkeypatch.setenv("CU_B", "caller")
    saves = []
    original = papermill.engines.write_ipynb
    monkeypatch.setattr(papermill.engines, "write_ipynb", lambda *a, **k: (saves.append(1), original(*a, **k)))
    out = run_notebook(tmp_path / "a.ipynb", tmp_path / "b.ipynb", parameters={"N": 7}, cwd=tmp_path,
                       env={"CU_A": "kernel", "CU_B": None})
    printed = "".join("".join(o.get("text", "")) for c in out["cells"] if c["cell_type"] == "code" for o in c["outputs"])
    assert "(7, 'kernel', None)" in printed
    assert os.environ["CU_A"] == "caller" and os.environ["CU_B"] == "caller"
    assert (tmp_path / "b.ipynb").exists() and saves == [], f"papermill saved the notebook {len(saves)} times per run"
