"""Block the network for every Python process of the test run.

``make test`` puts this folder on ``PYTHONPATH`` so that Python imports this
file at start-up in pytest, in every Jupyter kernel it starts, in the book
build and in the JupyterLab server. Connections to this machine (loopback,
Unix sockets: kernels talk to their clients that way) still work; anything
else raises ``OSError`` naming the address, so a notebook or helper that tries
to download something fails loudly. ``tests/test_offline.py`` proves the guard
is active.
"""
import ipaddress
import os
import socket

if os.environ.get("COURSE_OFFLINE_GUARD") == "1":
    _LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "", None}

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
        raise OSError(f"network access blocked by the course's offline test: {what} {host!r}")

    _orig_connect = socket.socket.connect
    _orig_connect_ex = socket.socket.connect_ex
    _orig_getaddrinfo = socket.getaddrinfo

    def _check(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            if not _is_local(address[0]):
                _blocked("connect to", address[0])

    def connect(self, address):
        _check(self, address)
        return _orig_connect(self, address)

    def connect_ex(self, address):
        _check(self, address)
        return _orig_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_local(host):
            _blocked("name lookup of", host)
        return _orig_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo
