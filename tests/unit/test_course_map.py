"""The course map: prerequisites and times parsed from the title cells, drawn as a graph."""
import pytest

from course_utils import course_map as cm


@pytest.mark.parametrize("text, requires, minutes", [
    ("**Prerequisites.** Chapter 02 (threshold units) and chapter 04 (x).\n\n**Estimated time.** 75–90 minutes.",
     ("02", "04"), (75, 90)),
    ("**Prerequisites.** Chapters 02–03 (GD), chapter 06, eigenvalues.\n**Estimated time.** 90 minutes.",
     ("02", "03", "06"), (90, 90)),
    ("**Prerequisites.** chapters 01–03, 10 and 11.\n\n**Estimated time.** 2–3 hours.",
     ("01", "02", "03", "10", "11"), (120, 180)),
    ("**Prerequisites.** Python and NumPy. No earlier chapter.\n\n**Estimated time.** 90 minutes.", (), (90, 90)),
])
def test_parse_title_cell(text, requires, minutes):
    c = cm.parse_title_cell("12", "# 12 · A title\n\n" + text)
    assert (c.title, c.requires, c.minutes) == ("A title", requires, minutes)


def test_missing_lines_are_named():
    with pytest.raises(ValueError, match="Prerequisites"):
        cm.parse_title_cell("03", "# 03 · x\n\n**Estimated time.** 9 minutes.")
    with pytest.raises(ValueError, match="Estimated time"):
        cm.parse_title_cell("03", "# 03 · x\n\n**Prerequisites.** None.")


def test_depths_and_plot():
    chapters = [cm.Chapter("01", "a", (), (60, 60)), cm.Chapter("02", "b", ("01",), (30, 45)),
                cm.Chapter("03", "c", ("01", "02"), (10, 20))]
    assert cm.depths(chapters) == {"01": 0, "02": 1, "03": 2}
    assert cm.total_minutes(chapters) == (100, 125)
    ax = cm.plot_map(chapters)
    texts = [t.get_text() for t in ax.texts]
    assert "03 c" in texts and "3 chapters" in ax.get_title()
    arrows = [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    assert len(arrows) == 3  # 01→02, 01→03, 02→03
