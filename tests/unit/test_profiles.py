"""Course profiles: an instructor's chapter selection, a filtered table of contents, no dangling links."""
from __future__ import annotations

import json

import pytest
import yaml
from helpers import ROOT

from course_utils import profiles

AVAILABLE = [f"{n:02d}" for n in range(1, 21)]


@pytest.mark.parametrize("spec, expected", [
    ("01-07 10 14-15", ["01", "02", "03", "04", "05", "06", "07", "10", "14", "15"]),
    ("3,1", ["01", "03"]), ("", AVAILABLE), ("all", AVAILABLE), ("19-25", ["19", "20"])])
def test_parse_chapters(spec, expected):
    assert profiles.parse_chapters(spec, AVAILABLE) == expected


@pytest.mark.parametrize("spec, says", [("01-x", "cannot read"), ("07-03", "runs backwards"), ("30-40", "names none")])
def test_parse_chapters_says_what_is_wrong(spec, says):
    with pytest.raises(ValueError, match=says):
        profiles.parse_chapters(spec, AVAILABLE)


def test_stage_keeps_only_the_selection_and_unlinks_the_rest(tmp_path):
    chapters = profiles.available_chapters(ROOT)
    keep = chapters[:1]
    dest = profiles.stage(ROOT, keep, tmp_path / "book")
    toc = yaml.safe_load((dest / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert [f.split("/")[-1][:2] for f in files] == keep
    assert all(part["chapters"] for part in toc["parts"])  # no empty part
    staged = sorted(p.name[:2] for p in (dest / "notebooks").glob("*.ipynb"))
    assert staged == ["00", *keep]
    start = "".join("".join(c["source"]) for c in json.loads((dest / "notebooks" / "00_start_here.ipynb").read_text())["cells"])
    links = profiles.LINK.findall(start)
    assert links and {n for _, n in links} <= set(keep) | {"00"}
    excluded = next(c for c in chapters if c not in keep)
    assert f"]({excluded}_" not in start  # the excluded chapter's row keeps its text, loses its link
