"""course_utils.checks: verdicts that say exactly what is wrong."""
import numpy as np
import pytest
import torch

from course_utils import checks


def ref(a, b):
    return a @ b


def inputs(rng):
    return rng.normal(size=(3, 4)), rng.normal(size=(4, 2))


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.delenv("COURSE_STRICT_CHECKS", raising=False)


def test_correct():
    r = checks.check_function(lambda a, b: a @ b, ref, inputs, name="matmul")
    assert r and r.passed and "Correct on 5" in r.message


def test_torch_tensor_answers_are_accepted():
    r = checks.check_function(lambda a, b: torch.tensor(a) @ torch.tensor(b), ref, inputs)
    assert r


def test_not_attempted():
    def stub(a, b):
        raise NotImplementedError
    r = checks.check_function(stub, ref, inputs, name="matmul")
    assert not r and not r.attempted and "not written yet" in r.message


@pytest.mark.parametrize("fn, phrase", [
    (lambda a, b: (a @ b).T, "has shape (2, 3), expected shape (3, 2)"),
    (lambda a, b: a @ b + 1e-3, "is wrong at index (0, 0)"),
    (lambda a, b: None, "forget to `return`"),
    (lambda a, b: "hello", "should be a number or an array"),
    (lambda a, b: np.full((3, 2), np.nan), "NaN/inf"),
    (lambda a, b: a[:, :2] * b[0], "is wrong"),
    (lambda a, b: a @ b[:, 5], "raised IndexError"),
])
def test_wrong_answers_are_described(fn, phrase):
    r = checks.check_function(fn, ref, inputs, name="matmul")
    assert not r and r.attempted
    assert phrase in r.message, r.message


def test_in_place_modification_is_reported():
    def sneaky(a, b):
        out = a @ b
        a[:] = 0
        return out
    r = checks.check_function(sneaky, ref, inputs)
    assert not r and "modified its input" in r.message


def test_an_input_changed_by_round_off_is_explained():
    """x[i] += h, then x[i] -= 2h, then x[i] += h leaves some entries one unit in the last place off."""
    def nudges(x):
        x += 1e-4
        x -= 2e-4
        x += 1e-4
        return x.copy()

    def identity(x):
        return x.copy()

    r = checks.check_function(nudges, identity, lambda rng: (rng.standard_normal(1000),))
    assert not r and "by round-off" in r.message and "put it back" in r.message, r.message
    r = checks.check_function(lambda a, b: a @ b, ref, inputs)  # the rest is unchanged
    assert r


def test_integer_results_must_be_integers():
    r = checks.check_function(lambda y: y + 0.5, lambda y: y, lambda rng: (rng.integers(0, 5, 6),))
    assert not r and "should hold integers" in r.message


def test_tuples_and_dicts():
    r = checks.check_function(lambda a: (a, a.sum()), lambda a: (a, a.sum() + 1), lambda rng: (rng.normal(size=3),))
    assert not r and "item 1" in r.message
    r = checks.check_value({"w": np.ones(2)}, {"w": np.ones(2), "b": 0.0}, name="params")
    assert not r and "missing key" in r.message


def test_check_value():
    assert checks.check_value(2.0, 2, name="bound")
    r = checks.check_value(3.0, 2, name="bound", hint="square the ratio")
    assert not r and "got 3, expected 2" in r.message and "square the ratio" in r.message
    assert not checks.check_value(..., 2).attempted


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.ExerciseCheckError, match="shape"):
        checks.check_function(lambda a, b: (a @ b).T, ref, inputs)
    assert checks.check_function(lambda a, b: a @ b, ref, inputs)


def test_html_rendering_names_the_verdict():
    r = checks.check_function(lambda a, b: a @ b, ref, inputs, name="matmul")
    assert "matmul" in r._repr_html_() and "#2ca02c" in r._repr_html_()


def test_parse_choice_reads_a_design_or_says_what_is_wrong():
    ranges = {"hidden": (1, 4), "lr": (0, 10)}
    assert checks.parse_choice({"hidden": np.int64(3), "lr": torch.tensor(0.5)}, ranges, integers=("hidden",)) \
        == {"hidden": 3, "lr": 0.5}
    cases = [(None, "should be a dict like dict(hidden=…, lr=…), got NoneType"),
             ({"hidden": 3}, "missing ['lr']"),
             ({"hidden": 3, "lr": 1, "mom": 0.9}, "unexpected ['mom']"),
             ({"hidden": "3", "lr": 1}, "hidden should be a single number, got '3'"),
             ({"hidden": 3, "lr": np.ones(2)}, "lr should be a single number, got array of shape (2,)"),
             ({"hidden": 3, "lr": float("nan")}, "lr should be a finite number"),
             ({"hidden": 2.5, "lr": 1}, "hidden should be a whole number, got 2.5"),
             ({"hidden": True, "lr": 1}, "hidden should be a single number"),
             ({"hidden": 8, "lr": 1}, "hidden should lie between 1 and 4, got 8")]
    for choice, phrase in cases:
        r = checks.parse_choice(choice, ranges, integers=("hidden",))
        assert isinstance(r, checks.CheckResult) and not r and r.attempted, (choice, r)
        assert phrase in r.message and "\n" not in r.message, r.message
    for unwritten in (..., {"hidden": ..., "lr": 1}):
        r = checks.parse_choice(unwritten, ranges)
        assert not r and not r.attempted and "not written yet" in r.message


def test_messages_stay_on_one_line_for_nested_inputs_and_long_errors():
    def boom(xs):
        raise ValueError("first line\nsecond line")
    r = checks.check_function(boom, lambda xs: xs, lambda rng: ([rng.normal(size=(3, 3)) for _ in range(4)],))
    assert "list of 4 items" in r.message and "first line" in r.message and "\n" not in r.message
    assert "should be 'abc', got array of shape (3,)" in checks.check_value(np.zeros(3), "abc").message
    v = checks.verdict("your plan", True, "On target.")
    assert v and v.name == "your plan" and v.attempted
