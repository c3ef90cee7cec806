"""The course map: which chapters each chapter builds on, and how long the course takes.

Every chapter's title cell states (AUTHORING.md)::

    **Prerequisites.** Chapter 02 (threshold units) and chapters 04–05 (…).
    **Estimated time.** 75–90 minutes.

- ``read_chapters(root)`` parses those two lines of every chapter notebook into
  ``Chapter`` records: the earlier chapters named (every two-digit number or range like
  ``01–08`` in the prerequisites paragraph: write other numbers in words there) and the
  time range in minutes.
- ``total_minutes(chapters)`` adds the ranges up; ``plot_map(chapters)`` draws the
  dependency graph, one column per depth (a chapter sits right of everything it needs).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt

from .plotting import COLORS

PREREQ = re.compile(r"\*\*Prerequisites\.\*\*(.*?)(?:\n\s*\n|\n\*\*|\Z)", re.S)
TIME = re.compile(r"\*\*Estimated time\.\*\*\s*(?:about\s+)?(\d+)(?:\s*[–-]\s*(\d+))?\s*(minutes|hours?)", re.I)
NUMBER_OR_RANGE = re.compile(r"(?<![\d.])(\d\d)(?:\s*[–-]\s*(\d\d))?(?!\d|\.\d)")


@dataclass(frozen=True)
class Chapter:
    number: str
    title: str
    requires: tuple[str, ...]
    minutes: tuple[int, int]


def parse_title_cell(number: str, text: str) -> Chapter:
    """One chapter's record from the markdown of its title cell; ``ValueError`` says what is missing."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    title = re.sub(r"^#\s*\d\d\s*·\s*", "", first).strip()
    pre = PREREQ.search(text)
    if pre is None:
        raise ValueError(f"chapter {number}: the title cell has no '**Prerequisites.**' line")
    requires: set[str] = set()
    for lo, hi in NUMBER_OR_RANGE.findall(pre.group(1)):  # every two-digit number or range names a chapter
        requires |= {f"{n:02d}" for n in range(int(lo), int(hi or lo) + 1)}
    time = TIME.search(text)
    if time is None:
        raise ValueError(f"chapter {number}: the title cell has no '**Estimated time.** N–M minutes.' line")
    scale = 60 if time.group(3).lower().startswith("hour") else 1
    lo = int(time.group(1)) * scale
    hi = int(time.group(2) or time.group(1)) * scale
    return Chapter(number, title, tuple(sorted(requires)), (lo, hi))


def read_chapters(root: str | Path) -> list[Chapter]:
    """Every chapter notebook's record, in order."""
    out = []
    for nb_path in sorted(Path(root, "notebooks").glob("[0-9][0-9]_*.ipynb")):
        if nb_path.name.startswith("00"):
            continue
        cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
        out.append(parse_title_cell(nb_path.name[:2], "".join(cells[0]["source"])))
    return out


def total_minutes(chapters: list[Chapter]) -> tuple[int, int]:
    return sum(c.minutes[0] for c in chapters), sum(c.minutes[1] for c in chapters)


def depths(chapters: list[Chapter]) -> dict[str, int]:
    """Longest chain of prerequisites below each chapter (0 for a chapter that needs none)."""
    known = {c.number: c for c in chapters}
    memo: dict[str, int] = {}

    def depth(n: str) -> int:
        if n not in memo:
            reqs = [r for r in known[n].requires if r in known]
            memo[n] = 1 + max(map(depth, reqs)) if reqs else 0
        return memo[n]

    return {c.number: depth(c.number) for c in chapters}


def plot_map(chapters: list[Chapter], ax=None):
    """The dependency graph: one column per depth, an arrow from each prerequisite to the chapter."""
    d = depths(chapters)
    cols: dict[int, list[str]] = {}
    for c in chapters:
        cols.setdefault(d[c.number], []).append(c.number)
    pos = {n: (x, -i + (len(col) - 1) / 2) for x, col in cols.items() for i, n in enumerate(col)}
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6.0, 1.7 * len(cols)), max(3.0, 0.55 * max(map(len, cols.values())))))
    known = {c.number for c in chapters}
    for c in chapters:
        for r in c.requires:
            if r in known:
                (x0, y0), (x1, y1) = pos[r], pos[c.number]
                ax.annotate("", xy=(x1 - 0.18, y1), xytext=(x0 + 0.18, y0),
                            arrowprops=dict(arrowstyle="->", color=COLORS[7], lw=0.8, alpha=0.7))
    for c in chapters:
        x, y = pos[c.number]
        ax.text(x, y, f"{c.number} {c.title[:22]}", ha="center", va="center", fontsize=7.5,
                bbox=dict(boxstyle="round,pad=0.3", facecolor="white", edgecolor=COLORS[d[c.number] % len(COLORS)]))
    ax.set_xlim(-0.6, max(cols) + 0.6)
    ax.set_ylim(min(y for _, y in pos.values()) - 0.7, max(y for _, y in pos.values()) + 0.7)
    ax.set_axis_off()
    lo, hi = total_minutes(chapters)
    ax.set_title(f"{len(chapters)} chapters, about {lo / 60:.0f}–{hi / 60:.0f} hours: an arrow means 'builds on'")
    return ax
