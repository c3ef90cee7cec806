"""course_utils.chapters.ch03_linear_regression: experiments, figures, the widget at its extremes, the checks."""
from __future__ import annotations

import matplotlib.figure
import numpy as np
import pytest
from helpers import assert_checker

from course_utils import checks
from course_utils.chapters import ch03_linear_regression as ch
from course_utils.scratch import regression
from course_utils.widgets import figure_texts


def _text(fig) -> str:
    return " | ".join(figure_texts(fig))


def _problem(seed: int, n: int | None = None, d: int | None = None):
    rng = np.random.default_rng(seed)
    n = n or int(rng.integers(10, 60))
    d = d if d is not None else int(rng.integers(1, 6))
    X = regression.with_bias(rng.standard_normal((n, d)))
    return rng, X, rng.standard_normal(n)


# ------------------------------------------------------------- conditioning
def test_conditioning_study_shows_the_squaring():
    st = ch.conditioning_study(range(1, 23))
    ok = st["cond_X"] ** 2 < 1e12
    np.testing.assert_allclose(st["cond_XtX"][ok], st["cond_X"][ok] ** 2, rtol=1e-2)
    assert np.all(np.diff(st["cond_X"]) > 0)
    assert st["normal"][-1] > 1e3 * st["lstsq"][-1] and st["normal"][-1] > 1e3 * st["qr"][-1]
    assert st["lstsq"][-1] < 1e-6


def test_chapter_data_gives_a_u_shaped_validation_curve():
    d = ch.curve_data(0)
    degrees = np.arange(16)
    train, val = ch.degree_curve(d.x_train, d.y_train, d.x_val, d.y_val, degrees)
    assert np.all(np.diff(train) <= 1e-9)
    best = int(np.argmin(val[1:-1])) + 1
    assert val[best] < 0.5 * val[0] and val[best] < 0.5 * val[-1]
    assert d.x_train.shape == (20,) and d.x_val.shape == (100,)


# ----------------------------------------------------------------- figures
@pytest.mark.parametrize("kw, words", [
    (dict(degree=15, log10_lam=ch.LOG10_LAM_ZERO), "overfitting"),
    (dict(degree=15, log10_lam=ch.LOG10_LAM_ZERO), "λ = 0"),
    (dict(degree=15, log10_lam=-2.0), "λ = 1e-02"),
    (dict(degree=0, log10_lam=2.0), "degree 0"),
    (dict(degree=15, log10_lam=2.0), "errors over degree"),
    (dict(degree=-1), "pick a degree"),
    (dict(degree=16), "pick a degree"),
    (dict(log10_lam=float("nan")), "finite"),
    (dict(degree=12, n_train=8, log10_lam=0.0), "not unique"),
    (dict(noise=-1.0), "noise must be >= 0"),
])
def test_draw_polynomial_fit_extremes(kw, words):
    fig = ch.draw_polynomial_fit(**kw)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert words in _text(fig), _text(fig)


def test_widget_frames_differ_and_no_message_at_a_good_setting():
    t1 = _text(ch.draw_polynomial_fit(degree=4, log10_lam=-6.0))
    assert "overfitting" not in t1 and "train" in t1
    assert t1 != _text(ch.draw_polynomial_fit(degree=5, log10_lam=-6.0))


def test_plots_return_axes():
    d = ch.curve_data(0)
    ax = ch.plot_data(d, curves={"fit": np.zeros(3)})
    assert ax.get_xlabel() == "$x$" and [t.get_text() for t in ax.get_legend().get_texts()][-1] == "fit"
    titles = [ax.get_title() for ax in ch.plot_fits(d, [1, 3]).axes]
    assert [t.split(":")[0] for t in titles] == ["degree 1", "degree 3"] and "val" in titles[0]
    _, X, y = _problem(0)
    assert ch.plot_nll_profile(X, y).get_ylabel() == "mean negative log-likelihood"
    a0, a1 = ch.plot_conditioning(ch.conditioning_study(range(1, 6)))
    assert a0.get_yscale() == "log" and a1.get_xlabel() == "polynomial degree"
    tr, va = ch.degree_curve(d.x_train, d.y_train, d.x_val, d.y_val, range(5))
    assert ch.plot_degree_curve(range(5), tr, va, noise=0.3, mark=2).get_yscale() == "log"
    lams = [1e-3, 1e-1, 10.0]
    scores = regression.kfold_cv(regression.polynomial_features(d.x_train, 4), d.y_train, lams, 5)
    assert ch.plot_cv_curve(lams, scores, val=np.ones(3), best=0.1).get_xscale() == "log"


# ------------------------------------------------------------------ checks
def _ne_ridge_by_accident(X, y):
    return np.linalg.solve(X.T @ X + np.eye(X.shape[1]), X.T @ y)


def _ne_no_solve(X, y):
    return X.T @ y / len(X)


def _grad_no_two(theta, X, y):
    return X.T @ (X @ theta - y) / len(X)


def _grad_sum(theta, X, y):
    return 2 * X.T @ (X @ theta - y)


def _grad_sign(theta, X, y):
    return 2 / len(X) * X.T @ (y - X @ theta)


def _poly_no_ones(x, degree):
    return np.stack([x ** j for j in range(1, degree + 2)], axis=1)


def _poly_decreasing(x, degree):
    return np.vander(x, degree + 1)


def _fold_training_error(X, y, lam, k, fold):
    folds = np.array_split(np.arange(len(X)), k)
    train = np.concatenate([f for i, f in enumerate(folds) if i != fold])
    theta = regression.ridge_fit(X[train], y[train], lam)
    return float(np.mean((X[train] @ theta - y[train]) ** 2))


def _fold_fit_on_all(X, y, lam, k, fold):
    val = np.array_split(np.arange(len(X)), k)[fold]
    theta = regression.ridge_fit(X, y, lam)
    return float(np.mean((X[val] @ theta - y[val]) ** 2))


@pytest.mark.parametrize("check, reference, wrongs", [
    (ch.check_normal_equations, regression.normal_equations, [_ne_ridge_by_accident, _ne_no_solve]),
    (ch.check_least_squares_gradient, lambda t, X, y: regression.least_squares_gradient(t, X, y), [_grad_no_two, _grad_sum, _grad_sign]),
    (ch.check_polynomial_features, regression.polynomial_features, [_poly_no_ones, _poly_decreasing]),
    (ch.check_fold_mse, lambda X, y, lam, k, f: regression.fold_mse(X, y, lam, k, f), [_fold_training_error, _fold_fit_on_all]),
])
def test_checks_pass_reference_fail_wrong_and_spot_stubs(check, reference, wrongs):
    assert_checker(check, reference, wrongs)


def test_checks_accept_other_correct_answers():
    assert ch.check_normal_equations(lambda X, y: np.linalg.pinv(X) @ y)
    assert ch.check_normal_equations(lambda X, y: np.linalg.inv(X.T @ X) @ X.T @ y)
    assert ch.check_polynomial_features(lambda x, d: np.vander(x, d + 1, increasing=True))
    assert ch.check_fold_mse(lambda X, y, lam, k, f: regression.fold_mse(X, y, lam, k, f, penalize_bias=False))


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.ExerciseCheckError):
        ch.check_least_squares_gradient(_grad_no_two)
    assert ch.check_least_squares_gradient(lambda t, X, y: regression.least_squares_gradient(t, X, y))


# ------------------------------------------- conditioning with a large residual
@pytest.fixture(scope="module")
def studies():
    return ch.conditioning_study(range(1, 25)), ch.conditioning_study(range(1, 25), residual=1.0)


def test_orthogonal_residual_is_orthogonal_to_every_degree():
    x = np.linspace(-1, 1, 100)
    r = ch.orthogonal_residual(x, 24, seed=3)
    assert np.linalg.norm(r) == pytest.approx(1.0)
    for deg in (1, 10, 24):
        X = regression.polynomial_features(x, deg)
        assert np.abs(X.T @ r).max() < 1e-14 * np.linalg.norm(X, axis=0).max()
    # a float64 projection is not good enough: it leaves kappa * eps along the smallest directions
    X = regression.polynomial_features(x, 24)
    z = np.random.default_rng(3).standard_normal(100)
    r64 = z - X @ regression.lstsq_qr(X, z)
    assert np.abs(X.T @ (r64 / np.linalg.norm(r64))).max() > 10 * np.abs(X.T @ r).max()


def test_small_residual_loses_log_kappa_large_residual_squares_it(studies):
    clean, noisy = studies
    assert ch.loses_log_kappa(clean, "qr") and ch.loses_log_kappa(clean, "lstsq") and ch.squares_kappa(clean, "normal")
    assert ch.squares_kappa(noisy, "qr") and ch.squares_kappa(noisy, "lstsq") and ch.squares_kappa(noisy, "normal")
    assert noisy["residual"] == 1.0 and clean["residual"] == 0.0


def test_the_exponent_asserts_can_fail(studies):
    """Negative controls: the noise-free study fails the 'squares kappa' assert for QR, the noisy one the 'log kappa' one."""
    clean, noisy = studies
    assert not ch.squares_kappa(clean, "qr") and not ch.squares_kappa(clean, "lstsq")
    assert not ch.loses_log_kappa(noisy, "qr") and not ch.loses_log_kappa(clean, "normal")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_large_residual_result_holds_for_other_residuals(seed, studies):
    clean, _ = studies
    noisy = ch.conditioning_study(range(1, 25), residual=1.0, seed=seed)
    assert ch.squares_kappa(noisy, "qr") and ch.squares_kappa(noisy, "normal")
    i20 = 19
    assert noisy["qr"][i20] > 1e4 * clean["qr"][i20] and noisy["normal"][i20] < 1e2 * noisy["qr"][i20]


def test_error_growth_needs_enough_points():
    with pytest.raises(ValueError, match="widen the range"):
        ch.error_growth(ch.conditioning_study(range(1, 4)), "qr")


def test_plot_error_vs_kappa_has_guides(studies):
    ax = ch.plot_error_vs_kappa({"no residual": studies[0], "residual": studies[1]})
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "QR, residual" in labels and ax.get_xscale() == "log" and len(labels) == 6


# ------------------------------------------------------------------ U shape
DEGREES = np.arange(16)


@pytest.mark.parametrize("start", [0, 10, 20, 30])
def test_median_validation_curve_is_u_shaped_for_other_draws(start):
    _, val = ch.median_degree_curves(range(start, start + 5), DEGREES)
    assert ch.u_shape(val).ok, ch.u_shape(val).reason


def test_u_shape_negative_controls():
    """Monotone or flat curves fail the same test: training error, a model that cannot overfit, a strong penalty."""
    train, _ = ch.median_degree_curves(range(5), DEGREES)
    v = ch.u_shape(train)
    assert not v.ok and "last point" in v.reason
    _, big_n = ch.median_degree_curves(range(5), DEGREES, n_train=2000)    # 2000 points: degree 15 cannot overfit
    v = ch.u_shape(big_n)
    assert not v.ok and "right arm rises only" in v.reason
    _, ridge = ch.median_degree_curves(range(5), DEGREES, lam=1e-2)
    assert not ch.u_shape(ridge).ok
    assert not ch.u_shape(np.linspace(1, 2, 10)).ok and "first point" in ch.u_shape(np.linspace(1, 2, 10)).reason
    bumpy = np.array([0.5, 0.2, 0.9, 0.1, 0.9, 0.2, 0.6])                  # interior minimum, but arms wander
    assert not ch.u_shape(bumpy).ok and "pairs" in ch.u_shape(bumpy).reason


def test_widget_prose_about_lambda():
    d = ch.curve_data(0)
    _, v0 = ch.degree_curve(d.x_train, d.y_train, d.x_val, d.y_val, DEGREES)
    _, v6 = ch.degree_curve(d.x_train, d.y_train, d.x_val, d.y_val, DEGREES, lam=1e-6)
    _, v2 = ch.degree_curve(d.x_train, d.y_train, d.x_val, d.y_val, DEGREES, lam=1e-2)
    _, v100 = ch.degree_curve(d.x_train, d.y_train, d.x_val, d.y_val, DEGREES, lam=100.0)
    assert v0[15] > 300 and v6[15] < 0.3                  # "from about 500 to 0.2"
    assert ch.u_shape(v6).right_rise < 1.5 and ch.u_shape(v2).right_rise < 1.1
    assert v100.min() > 5 * v0.min()                      # every degree underfits


# ------------------------------------------------------- new exercise checks
def _exponent_one():
    return 1.0


def _exponent_half():
    return 0.5


def test_check_growth_prediction(studies):
    noisy = studies[1]
    assert_checker(lambda fn: ch.check_growth_prediction(fn, noisy), lambda: 2.0, [_exponent_one, _exponent_half])
    assert "small residual" in ch.check_growth_prediction(_exponent_one, noisy).message


def _lr_xtx():
    return 2 / np.linalg.eigvalsh(ch.DERIVE_X.T @ ch.DERIVE_X)[-1]


def _lr_one_over():
    return 1 / (2 / 3 * (4 + np.sqrt(10)))


def _lr_smallest():
    return 2 / (2 / 3 * (4 - np.sqrt(10)))


def test_check_max_learning_rate():
    assert_checker(ch.check_max_learning_rate, lambda: 3 / (4 + np.sqrt(10)),
                   [_lr_xtx, _lr_one_over, _lr_smallest, lambda: 0.5, lambda: 0.3])
    assert "(2/n) X^T X" in ch.check_max_learning_rate(_lr_xtx).message
    assert "2 / lambda_max" in ch.check_max_learning_rate(_lr_one_over).message
    assert "largest one" in ch.check_max_learning_rate(_lr_smallest).message
    assert "diverges at 0.98x" in ch.check_max_learning_rate(lambda: 0.5).message
    assert "converges at 1.02x" in ch.check_max_learning_rate(lambda: 0.3).message
    assert "None" in ch.check_max_learning_rate(lambda: None).message
    assert "shape" in ch.check_max_learning_rate(lambda: [0.42]).message


def _ridge_bias_penalised(X, y, lam):
    return np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y)


def _ridge_no_penalty(X, y, lam):
    return np.linalg.lstsq(X, y, rcond=None)[0]


def test_check_ridge():
    assert_checker(ch.check_ridge, lambda X, y, lam: regression.ridge_closed_form(X, y, lam),
                   [_ridge_bias_penalised, _ridge_no_penalty])
    assert "still penalises the bias" in ch.check_ridge(_ridge_bias_penalised).message
    assert ch.check_ridge(lambda X, y, lam: regression.ridge_fit(X, y, lam))


def _exact_lstsq(X, y, digits=40):
    import mpmath

    with mpmath.workdps(digits):
        to_mp = np.vectorize(mpmath.mpf, otypes=[object])
        Xm, ym = to_mp(X), to_mp(y)
        coef = mpmath.lu_solve(mpmath.matrix((Xm.T @ Xm).tolist()), mpmath.matrix((Xm.T @ ym).tolist()))
        return np.array([float(v) for v in coef])


def test_white_noise_target_is_not_the_worst_case():
    """The notebook's aside: with white noise (partly fitted) QR's relative error still grows about like kappa^1,
    against the exact least-squares answer of the same data; the kappa^2 term needs a residual the model cannot absorb."""
    x = np.linspace(-1, 1, 100)
    noise = np.random.default_rng(1).standard_normal(100)
    degrees = np.arange(6, 23, 2)
    st = {"cond_X": [], "qr": []}
    for deg in degrees:
        X = regression.polynomial_features(x, deg)
        y = X @ np.ones(deg + 1) + np.linalg.norm(X @ np.ones(deg + 1)) / 10 * noise    # tan(theta) about 1
        exact = _exact_lstsq(X, y)
        st["cond_X"].append(np.linalg.cond(X))
        st["qr"].append(np.linalg.norm(regression.lstsq_qr(X, y) - exact) / np.linalg.norm(exact))
    st = {k: np.array(v) for k, v in st.items()}
    assert ch.loses_log_kappa(st, "qr"), ch.error_growth(st, "qr")
    assert np.linalg.norm(exact) > 100 * np.linalg.norm(np.ones(23))      # the fitted theta is mostly fitted noise
