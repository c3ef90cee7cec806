"""Block the network for a Python process, keeping loopback (kernels talk to their clients over it).

``install()`` patches ``socket`` so that a connection or name lookup to any host that is
not this machine raises ``OSError`` naming the address: a notebook or helper that tries
to download something fails loudly. It uses only the standard library, so a
``sitecustomize.py`` can load this file by path at interpreter start-up without
importing the course package (``tests/offline/sitecustomize.py`` does, for every
process of ``make test``; the grader does the same for the kernels it starts).
"""
from __future__ import annotations

import ipaddress
import socket

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "", None}
MESSAGE = "network access blocked by the course's offline test"


def _is_local(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if host in _LOCAL_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def _blocked(what, host):
    raise OSError(f"{MESSAGE}: {what} {host!r}")


def install() -> None:
    """Patch ``socket.socket.connect``, ``connect_ex`` and ``socket.getaddrinfo`` (idempotent)."""
    if getattr(socket, "_course_offline", False):
        return
    orig_connect, orig_connect_ex, orig_getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def _check(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            if not _is_local(address[0]):
                _blocked("connect to", address[0])

    def connect(self, address):
        _check(self, address)
        return orig_connect(self, address)

    def connect_ex(self, address):
        _check(self, address)
        return orig_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_local(host):
            _blocked("name lookup of", host)
        return orig_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo
    socket._course_offline = True


SITECUSTOMIZE = '''"""Written by course_utils: block the network for this Python process (see offline_guard.py)."""
import importlib.util as _u
import os as _os

if _os.environ.get("COURSE_OFFLINE_GUARD") == "1":
    _spec = _u.spec_from_file_location("_course_offline_guard", {path!r})
    _mod = _u.module_from_spec(_spec)
    _spec.loader.exec_module(_mod)
    _mod.install()
'''


def sitecustomize_source() -> str:
    """The text of a ``sitecustomize.py`` that installs this guard when ``COURSE_OFFLINE_GUARD=1``."""
    return SITECUSTOMIZE.format(path=__file__)
