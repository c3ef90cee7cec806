"""Jupyter kernels over IPC (Unix sockets) instead of TCP, where the OS has them.

Every kernel a client starts on loopback TCP prints "Kernel is running over TCP without
encryption": on a shared machine another user could connect to its ports. The fix
the message itself names is IPC transport: the kernel's sockets become files in the
runtime directory, readable only by their owner. ``use_ipc_kernels()`` makes that the
default for every kernel manager created afterwards in this process (the tests, the
book build through ``_ext/course_book.py``, the grader and the benchmark call it);
``make lab`` passes ``--KernelManager.transport=ipc`` to the JupyterLab server. On
Windows, which has no such sockets, it does nothing.
"""
from __future__ import annotations

import os
import uuid


def ipc_available() -> bool:
    return os.name == "posix"


def use_ipc_kernels() -> bool:
    """Make IPC the default kernel transport in this process; returns whether it did.

    jupyter_client names IPC sockets after the connection file, or ``kernel-ipc-N`` in the
    *current directory* when the manager has none yet: two kernels started from the same
    folder (nbval and papermill both run in ``notebooks/``) would then share sockets. We
    give each kernel its own socket prefix in the Jupyter runtime directory instead.
    """
    if not ipc_available():
        return False
    from jupyter_client.connect import ConnectionFileMixin

    ConnectionFileMixin.class_traits()["transport"].default_value = "ipc"
    if not getattr(ConnectionFileMixin.write_connection_file, "_course_ipc", False):
        original = ConnectionFileMixin.write_connection_file

        def write_connection_file(self, **kwargs):
            if self.transport == "ipc" and not os.path.isabs(self.ip):
                from jupyter_core.paths import jupyter_runtime_dir

                runtime = jupyter_runtime_dir()
                os.makedirs(runtime, exist_ok=True)
                self.ip = os.path.join(runtime, f"kernel-{uuid.uuid4().hex[:12]}-ipc")
            return original(self, **kwargs)

        write_connection_file._course_ipc = True
        ConnectionFileMixin.write_connection_file = write_connection_file
    return True


def run_notebook(src, out, *, parameters: dict | None = None, cwd=None, env: dict | None = None,
                 timeout: float = 1200) -> dict:
    """Execute ``src`` with papermill (``parameters`` injected, ``env`` set for the kernel) into ``out``;
    returns the executed notebook as a dict. Papermill's error (``PapermillExecutionError``) propagates.

    The way the benchmark and the tests run a chapter, as close as papermill gets to a student's
    Run All: a kernel over IPC; the notebook written once at the end, not before and after every
    cell (papermill's default rewrites the whole file, figures included, about 50 ms a cell on
    this course's notebooks: 2–13 s a chapter, measured); and the kernel killed once the last
    cell ends, not shut down gracefully (2 s a chapter nobody waits for in JupyterLab).
    ``env`` applies to this call only (a value of ``None`` unsets the variable): the kernel inherits
    it, and the caller's environment is restored afterwards.
    """
    import json

    import papermill as pm

    use_ipc_kernels()
    old = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        pm.execute_notebook(str(src), str(out), parameters=parameters or {}, cwd=None if cwd is None else str(cwd),
                            kernel_name="python3", progress_bar=False, log_output=False, execution_timeout=timeout,
                            request_save_on_cell_execute=False, shutdown_kernel="immediate")
    finally:
        os.environ.clear()
        os.environ.update(old)
    with open(out, encoding="utf-8") as f:
        return json.load(f)
