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


def ipc_available() -> bool:
    return os.name == "posix"


def use_ipc_kernels() -> bool:
    """Make IPC the default kernel transport in this process; returns whether it did."""
    if not ipc_available():
        return False
    from jupyter_client.connect import ConnectionFileMixin

    ConnectionFileMixin.class_traits()["transport"].default_value = "ipc"
    return True
