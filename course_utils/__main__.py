"""Command line: ``python -m course_utils {doctor,student}``.

Outputs are stripped from notebooks by nbstripout (``make strip``, or the git hook
that ``make dev`` installs), not by this package."""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("doctor", help="check that this machine is ready for the course")
    st = sub.add_parser("student", help="write student copies (solutions removed)")
    st.add_argument("--root", default=".", help="course folder (default: .)")
    st.add_argument("--out", default="student", help="output folder (default: student/)")
    args = parser.parse_args(argv)

    if args.cmd == "doctor":
        from .doctor import run

        return 1 if run() else 0
    if args.cmd == "student":
        from .notebooks import chapter_notebooks, make_student_copy

        root, out = Path(args.root), Path(args.out)
        nbs = chapter_notebooks(root)
        if not nbs:
            print(f"no chapter notebooks under {root / 'notebooks'}", file=sys.stderr)
            return 1
        out.mkdir(parents=True, exist_ok=True)
        start = root / "notebooks" / "00_start_here.ipynb"
        if start.exists():
            shutil.copy(start, out / start.name)
        for nb in nbs:
            n = make_student_copy(nb, out / nb.name)
            print(f"{out / nb.name}: {n} solution cell(s) removed")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
