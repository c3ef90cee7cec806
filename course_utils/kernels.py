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
