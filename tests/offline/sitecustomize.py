"""Block the network for every Python process of the test run.

``make test`` puts this folder on ``PYTHONPATH`` so that Python imports this
file at start-up in pytest, in every Jupyter kernel it starts, in the book
build and in the JupyterLab server. It loads ``course_utils/offline_guard.py``
by its path (no package import at start-up) and installs it: connections to this
machine (loopback, Unix sockets) still work; anything else raises ``OSError``
naming the address. ``tests/unit/test_offline.py`` proves the guard is active.
"""
import importlib.util as _u
import os as _os

if _os.environ.get("COURSE_OFFLINE_GUARD") == "1":
    _path = _os.path.join(_os.path.dirname(_os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))),
                          "course_utils", "offline_guard.py")
    _spec = _u.spec_from_file_location("_course_offline_guard", _path)
    _mod = _u.module_from_spec(_spec)
    _spec.loader.exec_module(_mod)
    _mod.install()
