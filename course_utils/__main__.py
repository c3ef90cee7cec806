"""Command line: ``python -m course_utils {doctor,student,progress,grade,profile,bench}``.

Outputs are stripped from notebooks by nbstripout (``make strip``, or the git hook
that ``make dev`` installs), not by this package."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # its own options (python -m course_utils bench --help)
        from .bench import main as bench_main

        return bench_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m course_utils", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("doctor", help="check that this machine is ready for the course")
    sub.add_parser("bench", help="measure chapters, widget frames, book pages and the from-scratch code")
    sub.add_parser("progress", help="show which exercises you have solved, chapter by chapter")
    gr = sub.add_parser("grade", help="run submitted student notebooks and write a CSV of their check verdicts")
    gr.add_argument("submissions", help="folder of submissions: SUBMISSIONS/<student>/<NN_chapter>.ipynb")
    gr.add_argument("--out", default="grades.csv", help="the CSV to write (default: grades.csv)")
    gr.add_argument("--timeout", type=float, default=900, help="seconds per notebook (default 900)")
    gr.add_argument("--cell-timeout", type=float, default=120, help="seconds per cell (default 120)")
    st = sub.add_parser("student", help="write student copies (solutions removed)")
    st.add_argument("--root", default=".", help="course folder (default: .)")
    st.add_argument("--out", default="student", help="output folder (default: student/)")
    st.add_argument("--chapters", default="", help='only these chapters, e.g. "01-07 10 14-15" (default: all)')
    pr = sub.add_parser("profile", help="write a book source folder with only some chapters")
    pr.add_argument("--chapters", required=True, help='e.g. "01-07 10 14-15"')
    pr.add_argument("--root", default=".", help="course folder (default: .)")
    pr.add_argument("--out", default="_build/profile", help="output folder (default: _build/profile)")
    args = parser.parse_args(argv)

    if args.cmd == "doctor":
        from .doctor import run

        return 1 if run() else 0
    if args.cmd == "grade":
        from .grading import grade

        try:
            grade(args.submissions, args.out, timeout=args.timeout, cell_timeout=args.cell_timeout)
        except FileNotFoundError as exc:
            print(exc, file=sys.stderr)
            return 1
        return 0
    if args.cmd == "progress":
        from .tracking import show

        show()
        return 0
    if args.cmd in ("student", "profile"):
        from .profiles import available_chapters, parse_chapters

        root = Path(args.root)
        try:
            chosen = parse_chapters(args.chapters, available_chapters(root))
        except (ValueError, IndexError) as exc:
            print(exc if str(exc) else f"no chapter notebooks under {root / 'notebooks'}", file=sys.stderr)
            return 1
    if args.cmd == "profile":
        from .profiles import stage

        dest = stage(root, chosen, Path(args.out))
        print(f"{dest}: a book with chapters {' '.join(chosen)}")
        return 0
    if args.cmd == "student":
        from .notebooks import chapter_notebooks, write_student_copies

        nbs = [nb for nb in chapter_notebooks(root) if nb.name[:2] in chosen]
        start = root / "notebooks" / "00_start_here.ipynb"
        report = write_student_copies(([start] if start.exists() else []) + nbs, Path(args.out))
        for path, status in report:
            if status == "kept yours":
                print(f"{path}: you edited {path.name.replace('.new', '')}, so it was kept as it is; "
                      "the fresh copy is here")
            else:
                print(f"{path}: {status}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
