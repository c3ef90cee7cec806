"""course_utils.chapters.ch17_autoencoders_vae: negative controls for every headline assert, the widget at its
extremes, and the exercise checks."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_checker

from course_utils import checks
from course_utils.chapters import ch17_autoencoders_vae as ch
from course_utils.scratch import autoencoders, pca, vae
from course_utils.widgets import Slider, figure_texts, interactive_figure


@pytest.fixture(scope="module")
def yard():
    return ch.yardstick()


# ------------------------------------------------------ PCA and the linear AE
def test_pca_agrees_with_scikit_learn_on_the_digits(yard):
    assert max(ch.pca_vs_sklearn(yard.train_images, ch.CODE_K).values()) < 1e-10


def test_spans_pca_passes_the_trained_autoencoder_and_fails_the_controls(yard):
    X = yard.train_images
    model = pca.pca(X, ch.CODE_K)
    trained = autoencoders.train_linear_autoencoder(X, ch.CODE_K, np.random.default_rng(0), steps=1500,
                                                    show_progress=False)
    short = autoencoders.train_linear_autoencoder(X, ch.CODE_K, np.random.default_rng(0), steps=100,
                                                  show_progress=False)
    untrained = autoencoders.init_linear_autoencoder(64, ch.CODE_K, np.random.default_rng(0))
    assert ch.spans_pca(ch.subspace_angles_deg(trained.params["W_dec"], model))
    assert not ch.spans_pca(ch.subspace_angles_deg(short.params["W_dec"], model))       # too short
    assert not ch.spans_pca(ch.subspace_angles_deg(untrained["W_dec"], model))         # untrained
    # a decoder spanning the right number of the WRONG components (PCs 2 … 11) fails too
    wrong = pca.pca(X, ch.CODE_K + 1).components[1:]
    assert not ch.spans_pca(ch.subspace_angles_deg(wrong, model))
    assert ch.spans_pca(ch.subspace_angles_deg(np.random.default_rng(1).normal(size=(ch.CODE_K, ch.CODE_K))
                                               @ model.components, model))               # any basis of it passes


# ------------------------------------------------------------ transposed conv
def test_transposed_conv_demo_and_overlap_counts():
    demo = ch.transposed_conv_demo(0)
    assert demo["output side"] == 8 and max(v for k, v in demo.items() if k != "output side") < 1e-10
    inner3, inner4 = ch.overlap_counts(3, 2)[2:-2, 2:-2], ch.overlap_counts(4, 2)[2:-2, 2:-2]
    assert inner3.min() == 1 and inner3.max() == 4 and inner4.min() == inner4.max() == 4
    fig = ch.plot_stamp()
    assert "output 7×7 (stride 2)" in figure_texts(fig)


# ------------------------------------------------------------------ denoising
@pytest.fixture(scope="module")
def denoising():
    return ch.denoising_study(seed=0, steps=ch.AE_STEPS, show_progress=False)


def test_denoising_passes_and_its_negative_controls(denoising):
    mse = denoising["mse"]
    assert ch.denoising_passes(mse)
    # a "denoising" autoencoder trained without noise is the plain one: no gain, the assert fails
    assert not ch.denoising_passes({**mse, "denoising autoencoder": mse["plain autoencoder"]})
    # a model that returns its input unchanged: the noisy input's error, fails
    assert not ch.denoising_passes({**mse, "denoising autoencoder": mse["noisy input"]})
    # a denoiser that outputs the mean training digit whatever the input
    mean_digit = np.broadcast_to(ch.yardstick().train_images.mean(0), denoising["clean"].shape)
    assert not ch.denoising_passes({**mse, "denoising autoencoder": float(np.mean((mean_digit - denoising["clean"]) ** 2))})


def test_train_autoencoder_learns_is_reproducible_and_reports_divergence():
    X = ch.yardstick().train_images[:128]
    model = autoencoders.build_conv_autoencoder(8, seed=0)
    h = ch.train_autoencoder(model, X, 60, batch_size=16, noise_std=0.3, seed=0, progress=False)
    losses = h["train_loss"]
    assert len(losses) == 60 and np.mean(losses[-10:]) < 0.6 * np.mean(losses[:5]) and not h.diverged
    again = autoencoders.build_conv_autoencoder(8, seed=0)
    assert ch.train_autoencoder(again, X, 60, batch_size=16, noise_std=0.3, seed=0, progress=False)["train_loss"] == losses
    other = autoencoders.build_conv_autoencoder(8, seed=0)
    assert ch.train_autoencoder(other, X, 60, batch_size=16, noise_std=0.3, seed=1, progress=False)["train_loss"] != losses
    broken = autoencoders.build_conv_autoencoder(4, seed=0)
    with torch.no_grad():
        broken.decoder[0].weight.fill_(float("nan"))
    h = ch.train_autoencoder(broken, np.full((8, 64), 0.5), 3, progress=False)
    assert h.diverged and "diverged" in h.message


# ------------------------------------------------------------------------ VAE
def test_kl_agreement_and_a_wrong_closed_form_fails_the_same_test():
    rng = np.random.default_rng(0)
    mu, logvar = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    kl = ch.kl_agreement(mu, logvar, n_samples=50_000)
    assert np.allclose(kl["closed form"], kl["torch"], rtol=1e-12)
    assert np.all(np.abs(kl["Monte Carlo"] - kl["closed form"]) < 4 * kl["Monte Carlo standard error"])
    no_half = 2 * kl["closed form"]                                         # forgot the ½
    without_log = 0.5 * np.sum(mu ** 2 + np.exp(logvar) - 1, axis=1)        # forgot −log σ²
    for wrong in (no_half, without_log):
        assert not np.all(np.abs(kl["Monte Carlo"] - wrong) < 4 * kl["Monte Carlo standard error"])


def test_linear_gaussian_elbo_gap_identity_and_a_wrong_bound():
    toy = ch.linear_gaussian_elbo(1.3, 2.0, 0.5, mu=0.2, logvar=-1.0, n_samples=50_000)
    assert toy["log p(x)"] - toy["ELBO"] == pytest.approx(toy["KL(q ‖ posterior)"], rel=1e-12)
    assert toy["ELBO"] < toy["log p(x)"] and abs(toy["ELBO (Monte Carlo)"] - toy["ELBO"]) < 4 * toy["Monte Carlo standard error"]


@pytest.fixture(scope="module")
def vaes():
    """The chapter's two 16-D VAEs (β = 0.25 and β = 1), exactly as the notebook trains them."""
    return {0.25: ch.digit_vae(0).run, 1.0: ch.vae_run(latent_dim=16, beta=1.0, hidden=(256,), epochs=150, seed=0)}


def test_estimators_pass_and_the_negative_controls_fail(vaes, yard):
    model = vaes[0.25].model
    X = yard.train_images[:3]
    real = ch.estimator_study(model, X, n_samples=2000, seed=0)
    assert ch.estimators_pass(real)
    same = ch.estimator_study(model, X, n_samples=2000, seed=0, estimators=("score function", "score function"))
    assert not ch.estimators_pass(same, a="score function", b="score function")          # ratio 1
    cut = ch.estimator_study(model, X, n_samples=2000, seed=0,
                             estimators=("reparameterisation", "reparameterisation, noise path cut"))
    assert not ch.estimators_pass(cut, a="reparameterisation", b="reparameterisation, noise path cut")  # biased


def _fd(yard, images):
    return yard.score(images).frechet


def test_beats_gaussian_passes_the_chosen_vae_and_fails_the_controls(vaes, yard):
    fd_gauss = _fd(yard, yard.gaussian_baseline(ch.N_SCORE, np.random.default_rng(0)))
    assert ch.beats_gaussian(_fd(yard, vae.sample_images(vaes[0.25].model, ch.N_SCORE, seed=1)), fd_gauss)
    # the negative controls: β = 1, an untrained decoder, a second draw of the Gaussian itself, blurred digits
    assert not ch.beats_gaussian(_fd(yard, vae.sample_images(vaes[1.0].model, ch.N_SCORE, seed=1)), fd_gauss)
    assert not ch.beats_gaussian(_fd(yard, vae.sample_images(vae.build_vae(16, (256,), 0), ch.N_SCORE, seed=1)), fd_gauss)
    assert not ch.beats_gaussian(_fd(yard, yard.gaussian_baseline(ch.N_SCORE, np.random.default_rng(1))), fd_gauss)
    from course_utils.scratch.sample_quality import blur
    assert not ch.beats_gaussian(_fd(yard, blur(yard.train_images[:ch.N_SCORE])), fd_gauss)


def test_beta_one_uses_fewer_dimensions_and_fewer_nats(vaes, yard):
    usage = {}
    for beta, r in vaes.items():
        mu, logvar = vae.encode_stats(r.model, yard.train_images)
        kl = vae.gaussian_kl(mu[:, :, None], logvar[:, :, None]).mean(axis=0)
        usage[beta] = (int(np.sum(kl > 0.05)), float(kl.sum()))
    assert usage[1.0][0] < usage[0.25][0] and usage[1.0][1] < usage[0.25][1] / 2


def test_interpolation_rows_start_and_end_at_the_reconstructions(vaes, yard):
    model = vaes[0.25].model
    a, b = yard.reference_images[:2]
    rows = ch.interpolation_rows(model, [(a, b)], steps=5)
    ends = vae.decode_images(model, vae.encode_mean(model, np.stack([a, b])))
    # float32, one batch against another: 3e-6 apart in the last bits of tiny pixels on an AMD EPYC
    np.testing.assert_allclose(rows[[0, -1]], ends, rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------- widget
def test_widget_draws_every_corner_and_explains_the_tail():
    for z1, z2 in [(-3.0, -3.0), (3.0, 3.0), (0.0, 0.0), (-3.0, 3.0)]:
        texts = " ".join(figure_texts(ch.draw_vae_latent(z1, z2)))
        assert f"decoded at z = ({z1:+.2f}, {z2:+.2f})" in texts
    assert "prior's tail" in " ".join(figure_texts(ch.draw_vae_latent(3.0, 3.0)))
    assert "prior's tail" not in " ".join(figure_texts(ch.draw_vae_latent(0.5, -0.5)))
    bad = ch.draw_vae_latent(float("nan"), 0.0)
    assert getattr(bad, "_course_exception", None) is ValueError and "finite" in " ".join(figure_texts(bad))


def test_widget_static_frames_fit_the_book():
    static = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]
    fig = interactive_figure(ch.draw_vae_latent, z1=Slider(-3.0, 3.0, 0.25, value=0.0, static=static),
                             z2=Slider(-3.0, 3.0, 0.25, value=0.0, static=static))
    n = len(fig.controls["z1"].static_values()) * len(fig.controls["z2"].static_values())
    assert n <= 80
    assert fig.render(z1=-3.0, z2=3.0)[:4] == b"\x89PNG"


def test_decoded_grid_and_latent_plot():
    model = ch.latent_vae()
    fig = ch.plot_decoded_grid(model, side=5)
    assert "what the 2-D VAE decodes" in " ".join(figure_texts(fig))
    X, y = ch.yardstick().train_images, ch.yardstick().train_labels
    ax = ch.plot_latent_space(model, X, y)
    assert ax.get_xlabel() == "$z_1$"


# ----------------------------------------------------------------- checks
def _pca_reconstruct_ref(X, k):
    mu = X.mean(0)
    _, _, Vt = np.linalg.svd(X - mu, full_matrices=False)
    return (X - mu) @ Vt[:k].T @ Vt[:k] + mu


def _kl_ref(mu_q, logvar_q, mu_p, logvar_p):
    vq, vp = np.exp(logvar_q), np.exp(logvar_p)
    return 0.5 * np.sum(logvar_p - logvar_q + (vq + (mu_q - mu_p) ** 2) / vp - 1, axis=-1)


def _reparam_ref(mu, logvar, eps):
    return mu + torch.exp(0.5 * logvar) * eps


def test_checkers_pass_references_and_reject_wrong_answers():
    assert_checker(ch.check_pca_reconstruct, _pca_reconstruct_ref, [
        lambda X, k: (X - X.mean(0)) @ np.linalg.svd(X - X.mean(0), full_matrices=False)[2][:k].T
        @ np.linalg.svd(X - X.mean(0), full_matrices=False)[2][:k],                                   # mean not added back
        lambda X, k: X @ np.linalg.svd(X, full_matrices=False)[2][:k].T @ np.linalg.svd(X, full_matrices=False)[2][:k],  # not centred
    ])
    assert_checker(ch.check_gaussian_kl_diag, _kl_ref, [
        lambda mq, lq, mp, lp: vae.gaussian_kl(mq, lq),                                 # ignores p: right only for N(0, I)
        lambda mq, lq, mp, lp: 0.5 * np.sum(lp - lq + (np.exp(lq) + (mq - mp) ** 2) / np.exp(lp) - 1, axis=0),  # wrong axis
    ])
    assert_checker(ch.check_reparameterize, _reparam_ref, [
        lambda mu, logvar, eps: mu + torch.exp(0.5 * logvar).detach() * eps,           # the exercise's bug
        lambda mu, logvar, eps: (mu + torch.exp(0.5 * logvar) * eps).detach(),         # everything cut
        lambda mu, logvar, eps: mu + torch.exp(logvar) * eps,                           # variance instead of σ
    ])


def test_the_debug_exercise_names_the_missing_gradient(lenient):
    r = ch.check_reparameterize(lambda mu, logvar, eps: mu + torch.exp(0.5 * logvar).detach() * eps)
    assert not r and "gradient for logvar" in r.message
    r = ch.check_reparameterize(lambda mu, logvar, eps: torch.normal(mu, torch.exp(0.5 * logvar)))
    assert not r and r.attempted


def test_predict_and_derive_checks(lenient):
    actual = ch.untrained_angle(0)
    assert 80 < actual < 90
    assert ch.check_untrained_angle_prediction(85.0)
    r = ch.check_untrained_angle_prediction(45.0)
    assert not r and "nearly orthogonal" in r.message
    assert not ch.check_untrained_angle_prediction(...).attempted
    assert ch.check_variance_ratio(15 / 4)
    r = ch.check_variance_ratio(3 / 4)   # used E[ε⁴] = 3 instead of E[ε⁶] = 15
    assert not r and "15" in r.message


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.ExerciseCheckError):
        ch.check_variance_ratio(1.0)
