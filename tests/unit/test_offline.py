"""The test run is offline: the guard in tests/offline blocks the network for every Python process."""
import os
import socket
import subprocess
import sys

import pytest

GUARDED = os.environ.get("COURSE_OFFLINE_GUARD") == "1"


@pytest.mark.skipif(not GUARDED, reason="run through `make test`, which blocks the network")
def test_network_is_blocked_here():
    with pytest.raises(OSError, match="blocked by the course's offline test"):
        socket.create_connection(("pypi.org", 443), timeout=2)
    with pytest.raises(OSError, match="blocked"):
        socket.socket().connect(("8.8.8.8", 53))


@pytest.mark.skipif(not GUARDED, reason="run through `make test`, which blocks the network")
def test_network_is_blocked_in_child_processes():
    """Kernels, the book build and JupyterLab are child processes: they inherit the guard."""
    code = ("import socket\n"
            "try:\n    socket.create_connection(('example.org', 80), timeout=2)\n"
            "except OSError as e:\n    print('blocked' if 'offline test' in str(e) else 'other', end='')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout == "blocked"


def test_loopback_still_works():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    c = socket.create_connection(srv.getsockname(), timeout=2)
    c.close()
    srv.close()


def test_ci_runs_guarded():
    if os.environ.get("CI") == "true":
        assert GUARDED, "CI must run the suite through `make test` (network guard missing)"
