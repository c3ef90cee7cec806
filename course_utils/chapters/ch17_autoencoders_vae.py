"""Chapter 17 · autoencoders and variational autoencoders: the figures, the widget, the experiments and the checks.

- Data: :func:`yardstick`, the course's digit yardstick
  (:func:`course_utils.scratch.sample_quality.digit_yardstick` with its defaults, on
  :func:`course_utils.digit_models.digits`); every model of the chapter trains on its 797
  ``train_images``.
- PCA and the linear autoencoder: :func:`pca_vs_sklearn`, :func:`subspace_angles_deg`,
  :func:`spans_pca` (the assert, threshold :data:`MAX_ANGLE_DEG`), :func:`plot_components`,
  :func:`plot_angles`.
- Transposed convolution: :func:`transposed_conv_demo`, :func:`overlap_counts`, :func:`plot_stamp`; the
  convolutional and the denoising autoencoder: :func:`train_autoencoder` (``training.train_steps``),
  :func:`denoising_study`, :func:`denoising_passes` (:data:`DENOISE_GAIN_MIN`).
- The VAE: :func:`kl_agreement`, :func:`estimator_study` and :func:`estimators_pass`
  (:data:`VARIANCE_RATIO_MIN`), :func:`digit_vae` (the chosen VAE, ``vae.train_digit_vae``, cached),
  :func:`vae_run` (other cached training runs), :func:`score_sets`, :func:`beats_gaussian`
  (:data:`VAE_MAX_FD_RATIO`), :func:`plot_vae_training`, :func:`plot_latent_space`,
  :func:`plot_decoded_grid`, :func:`interpolation_rows`.
- The widget :func:`draw_vae_latent`: two latent sliders → the digit the 2-D VAE decodes there.
- Checks: :func:`check_pca_reconstruct`, :func:`check_untrained_angle_prediction`
  (predict-then-run), :func:`check_gaussian_kl_diag` (derive-then-check), :func:`check_reparameterize`
  (debug-this), :func:`check_variance_ratio` (derive-then-check).

The thresholds are constants here so that the tests run the negative controls through the
very asserts the notebook makes.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import checks, plotting, training
from ..digit_models import digit_vae, yardstick  # noqa: F401 (the notebook calls ch.digit_vae, ch.yardstick)
from ..scratch import autoencoders, pca, sample_quality, vae
from ..widgets import frame

#: the code size of PCA and of the linear autoencoder
CODE_K = 10
#: a linear autoencoder "spans the PCA subspace" when its largest principal angle to it is below this (degrees).
#: Measured (1,500 steps, seeds 0–4): 0.10–0.26°; the controls: untrained 85–89°, 100 steps 54–79°.
MAX_ANGLE_DEG = 1.0
#: the noise of the denoising section (pixels are in [0, 1]) and the denoising assert: the denoising
#: autoencoder's error on noisy held-out digits is below 1/DENOISE_GAIN_MIN of the plain autoencoder's. Measured
#: (AE_STEPS steps, seeds 0–4): gains 1.30–1.45; over the noisy input 6.4–6.8
NOISE_STD = 0.5
DENOISE_GAIN_MIN = 1.2
#: training steps (batches of 64) of the plain and the denoising convolutional autoencoders
AE_STEPS = 400
#: the reparameterised gradient's variance is at least this many times smaller than the score function's.
#: Measured on the chosen VAE (8 training digits, 2,000 draws each, seeds 0–4): smallest ratio 2,400–3,600.
VARIANCE_RATIO_MIN = 500.0
#: a VAE's samples "beat the fitted Gaussian" when their Fréchet distance is below this fraction of the Gaussian's.
#: Measured (vae.DIGIT_VAE, seeds 0–4): 35–44 against the Gaussian's 64–71 (ten draws), ratios 0.52–0.68; the β = 1
#: VAE 76 (1.14); another draw of the Gaussian 0.97–1.07; untrained decoder and blurred digits far above.
VAE_MAX_FD_RATIO = 0.75
#: samples per set on the yardstick (the same as chapter 19's)
N_SCORE = 500


# ======================================================================== data
# ============================================================ PCA and linear AE
def pca_vs_sklearn(X: np.ndarray, k: int) -> dict[str, float]:
    """Largest differences between :func:`course_utils.scratch.pca.pca` and scikit-learn's ``PCA``.

    Components are compared up to sign (``| |⟨v_ours, v_sklearn⟩| − 1 |``), explained
    variances and their ratios directly.
    """
    from sklearn.decomposition import PCA as SkPCA

    ours, theirs = pca.pca(X, k), SkPCA(n_components=k, svd_solver="full").fit(X)
    return {"components (up to sign)": float(np.max(np.abs(np.abs(np.sum(ours.components * theirs.components_, axis=1)) - 1))),
            "component entries (up to sign)": float(np.max(np.abs(np.abs(ours.components) - np.abs(theirs.components_)))),
            "explained variance": float(np.max(np.abs(ours.explained_variance - theirs.explained_variance_))),
            "explained variance ratio": float(np.max(np.abs(ours.explained_variance_ratio
                                                            - theirs.explained_variance_ratio_)))}


def subspace_angles_deg(decoder_weights: np.ndarray, model: pca.PCA) -> np.ndarray:
    """Principal angles (degrees) between the span of a decoder's rows ``(k, d)`` and the PCA subspace."""
    return np.degrees(pca.principal_angles(np.asarray(decoder_weights).T, model.components.T))


def spans_pca(angles_deg: np.ndarray, max_angle: float = MAX_ANGLE_DEG) -> bool:
    """The assert: every principal angle to the PCA subspace is below ``max_angle`` degrees."""
    return bool(np.max(angles_deg) < max_angle)


def plot_components(model: pca.PCA, count: int = 10):
    """The first ``count`` principal components as 8×8 images (red positive, blue negative) and their variance shares."""
    count = min(count, model.k)
    fig, axes = plt.subplots(1, count, figsize=(1.15 * count, 1.7))
    lim = np.abs(model.components[:count]).max()
    for i, ax in enumerate(np.atleast_1d(axes)):
        ax.imshow(model.components[i].reshape(8, 8), cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        ax.set_title(f"PC {i + 1}\n{model.explained_variance_ratio[i]:.1%}", fontsize=9)
        ax.set_axis_off()
    fig.suptitle("principal components (share of the variance)", fontsize=11)
    return fig


def plot_angles(angles: Mapping[str, np.ndarray], ax=None, max_angle: float = MAX_ANGLE_DEG):
    """Principal angles (degrees, log scale) to the PCA subspace, one line per model."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    for i, (name, a) in enumerate(angles.items()):
        ax.plot(np.arange(1, len(a) + 1), np.maximum(a, 1e-6), "o-", ms=4, color=plotting.COLORS[i], label=name)
    ax.axhline(max_angle, color="k", ls="--", lw=1, label=f"the assert: all below {max_angle:g}°")
    ax.set_yscale("log")
    ax.set_xlabel("principal angle number (smallest first)")
    ax.set_ylabel("angle to the PCA subspace (degrees)")
    ax.set_title("does the decoder span the top principal components?")
    ax.legend(fontsize=8)
    return ax


# ======================================================= transposed convolution
def transposed_conv_demo(seed: int = 0) -> dict[str, float]:
    """Our NumPy transposed convolution against ``torch.nn.functional.conv_transpose2d``, forward and backward,
    and the defining property: it is the adjoint of the convolution, ⟨conv(x), y⟩ = ⟨x, convᵀ(y)⟩."""
    rng = np.random.default_rng(seed)
    x, w, b = rng.normal(size=(2, 3, 4, 4)), rng.normal(size=(3, 5, 4, 4)), rng.normal(size=5)
    out, cache = autoencoders.conv_transpose2d_forward(x, w, b, stride=2, padding=1)
    dout = rng.normal(size=out.shape)
    dx, dw, db = autoencoders.conv_transpose2d_backward(dout, cache)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ot = torch.nn.functional.conv_transpose2d(xt, wt, bt, stride=2, padding=1)
    ot.backward(torch.tensor(dout))
    # adjoint: a stride-2 convolution with the same weights maps (n, 5, 8, 8) back to (n, 3, 4, 4)
    y = torch.tensor(rng.normal(size=out.shape))
    conv_y = torch.nn.functional.conv2d(y, wt.detach(), stride=2, padding=1)
    no_bias = torch.nn.functional.conv_transpose2d(xt.detach(), wt.detach(), stride=2, padding=1)
    return {"output side": out.shape[-1],
            "forward": float(np.max(np.abs(out - ot.detach().numpy()))),
            "dx": float(np.max(np.abs(dx - xt.grad.numpy()))),
            "dw": float(np.max(np.abs(dw - wt.grad.numpy()))),
            "db": float(np.max(np.abs(db - bt.grad.numpy()))),
            "adjoint": float(abs(torch.sum(no_bias * y) - torch.sum(xt.detach() * conv_y)))}


def overlap_counts(f: int, stride: int, n: int = 4) -> np.ndarray:
    """How many kernel stamps land on each output pixel: a transposed convolution of ones with a ones kernel."""
    out, _ = autoencoders.conv_transpose2d_forward(np.ones((1, 1, n, n)), np.ones((1, 1, f, f)), np.zeros(1), stride)
    return out[0, 0].astype(int)


def plot_stamp(stride: int = 2, f: int = 3):
    """What a transposed convolution does: two input pixels each stamp a copy of the kernel, overlaps add up."""
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 0, 0], x[0, 0, 1, 1] = 1.0, 2.0
    w = np.arange(1, f * f + 1, dtype=float).reshape(1, 1, f, f)
    out, _ = autoencoders.conv_transpose2d_forward(x, w, np.zeros(1), stride=stride)
    fig, axes = plt.subplots(1, 3, figsize=(8.0, 2.9), gridspec_kw={"width_ratios": [3, f, out.shape[-1]]})
    for ax, img, title in zip(axes, (x[0, 0], w[0, 0], out[0, 0]),
                              ("input 3×3", f"kernel {f}×{f}", f"output {out.shape[-1]}×{out.shape[-1]} (stride {stride})")):
        ax.imshow(img, cmap="Blues", interpolation="nearest")
        for (r, c), v in np.ndenumerate(img):
            ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


# ============================================================ denoising
def train_autoencoder(model: torch.nn.Module, X: np.ndarray, steps: int, batch_size: int = 64, lr: float = 3e-3,
                      noise_std: float = 0.0, seed: int = 0, progress: bool = True) -> training.History:
    """Adam on the mean squared error between ``model(x̃)`` and the clean ``x`` (``training.train_steps``).

    Each step draws ``batch_size`` rows of ``X`` ``(n, 64)``; with ``noise_std > 0`` the input is
    ``x̃ = x + N(0, noise_std²)``, noise drawn afresh every step (a denoising autoencoder never sees
    the same corrupted digit twice), otherwise ``x̃ = x``. Batches and noise come from ``seed``.
    """
    clean = autoencoders.as_images(X)
    gen = torch.Generator().manual_seed(seed)

    def next_batch(step: int):
        target = clean[torch.randint(len(clean), (batch_size,), generator=gen)]
        noisy = target + noise_std * torch.randn(target.shape, generator=gen) if noise_std > 0 else target
        return noisy, target

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    return training.train_steps(model, next_batch, torch.nn.functional.mse_loss, opt, steps, progress=progress,
                                desc="denoising autoencoder" if noise_std > 0 else "autoencoder")


def denoising_study(seed: int = 0, steps: int = AE_STEPS, code: int = 16, noise_std: float = NOISE_STD,
                    show_progress: bool = True) -> dict:
    """Train a plain and a denoising :class:`~course_utils.scratch.autoencoders.ConvAutoencoder` on the
    yardstick's training digits (:func:`train_autoencoder`) and measure both on noisy held-out digits.

    Returns ``"mse"`` (name -> mean squared error against the clean held-out digits of: the noisy
    input, the plain autoencoder's output, the denoising autoencoder's output), the two models,
    the clean and noisy held-out digits and the training histories.
    """
    yard = yardstick()
    clean = yard.reference_images
    noisy = autoencoders.add_noise(clean, noise_std, np.random.default_rng([seed, 1]))
    models, runs = {}, {}
    for name, std in (("plain", 0.0), ("denoising", noise_std)):
        models[name] = autoencoders.build_conv_autoencoder(code, seed)
        runs[name] = train_autoencoder(models[name], yard.train_images, steps, noise_std=std, seed=seed,
                                       progress=show_progress)
    mse = {"noisy input": float(np.mean((noisy - clean) ** 2))}
    for name, model in models.items():
        mse[f"{name} autoencoder"] = float(np.mean((autoencoders.reconstruct_images(model, noisy) - clean) ** 2))
    mse["plain autoencoder on clean digits"] = float(np.mean((autoencoders.reconstruct_images(models["plain"], clean)
                                                              - clean) ** 2))
    return {"mse": mse, "models": models, "runs": runs, "clean": clean, "noisy": noisy}


def denoising_passes(mse: Mapping[str, float], gain_min: float = DENOISE_GAIN_MIN) -> bool:
    """The assert: the denoising autoencoder's error is ``gain_min`` times below the plain autoencoder's, and far below the noise's."""
    return bool(mse["plain autoencoder"] > gain_min * mse["denoising autoencoder"]
                and mse["noisy input"] > 2 * gain_min * mse["denoising autoencoder"])


# ======================================================================= VAE
def kl_agreement(mu: np.ndarray, logvar: np.ndarray, n_samples: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The KL to N(0, I) of each row's Gaussian three ways: closed form, Monte Carlo (with its standard
    error) and ``torch.distributions.kl_divergence``."""
    rng = np.random.default_rng(seed)
    mu, logvar = np.atleast_2d(mu), np.atleast_2d(logvar)
    z = vae.reparameterize(mu, logvar, rng.standard_normal((n_samples, *mu.shape)))       # (S, n, k)
    per_draw = vae.log_normal(z, mu, logvar) - vae.log_normal(z, np.zeros_like(mu), np.zeros_like(logvar))
    q = torch.distributions.Normal(torch.tensor(mu), torch.tensor(np.exp(0.5 * logvar)))
    p = torch.distributions.Normal(torch.zeros_like(q.loc), torch.ones_like(q.scale))
    return {"closed form": vae.gaussian_kl(mu, logvar), "Monte Carlo": per_draw.mean(axis=0),
            "Monte Carlo standard error": per_draw.std(axis=0, ddof=1) / np.sqrt(n_samples),
            "torch": torch.distributions.kl_divergence(q, p).sum(dim=-1).numpy()}


def linear_gaussian_elbo(x: float, w: float, s: float, mu: float, logvar: float, n_samples: int = 0,
                         seed: int = 0) -> dict[str, float]:
    """The toy latent-variable model ``p(z) = N(0, 1)``, ``p(x | z) = N(w z, s²)``, where everything is exact.

    Returns ``log p(x)`` (``x ~ N(0, w² + s²)``), the ELBO of ``q = N(mu, e^logvar)`` in closed form,
    ``KL(q ‖ p(z | x))`` to the exact posterior ``N(w x/(w² + s²), s²/(w² + s²))`` and, with
    ``n_samples``, a Monte Carlo ELBO ``mean[log p(x | z) + log p(z) − log q(z)]`` and its standard error.
    """
    var = np.exp(logvar)
    log_px = float(vae.log_normal(np.array([x]), np.zeros(1), np.log([w ** 2 + s ** 2])))
    expected_loglik = -0.5 * np.log(2 * np.pi * s ** 2) - ((x - w * mu) ** 2 + w ** 2 * var) / (2 * s ** 2)
    elbo = float(expected_loglik - vae.gaussian_kl(np.array([mu]), np.array([logvar])))
    post_mu, post_var = w * x / (w ** 2 + s ** 2), s ** 2 / (w ** 2 + s ** 2)
    out = {"log p(x)": log_px, "ELBO": elbo,
           "KL(q ‖ posterior)": float(vae.gaussian_kl_diag(np.array([mu]), np.array([logvar]), np.array([post_mu]),
                                                            np.log([post_var])))}
    if n_samples:
        z = mu + np.sqrt(var) * np.random.default_rng(seed).standard_normal((n_samples, 1))
        terms = (vae.log_normal(np.full_like(z, x), w * z, np.full_like(z, np.log(s ** 2)))
                 + vae.log_normal(z, np.zeros_like(z), np.zeros_like(z)) - vae.log_normal(z, np.full_like(z, mu),
                                                                                          np.full_like(z, logvar)))
        out["ELBO (Monte Carlo)"] = float(terms.mean())
        out["Monte Carlo standard error"] = float(terms.std(ddof=1) / np.sqrt(n_samples))
    return out


def estimator_study(model: vae.VAE, X: np.ndarray, n_samples: int = 2000, seed: int = 0,
                    estimators: tuple[str, str] = ("reparameterisation", "score function")) -> dict[str, np.ndarray]:
    """Both gradient estimators of ``∇_μ E_q[log p(x | z)]`` for each digit of ``X``, on the same noise draws.

    For each digit: the encoder's ``(μ, log σ²)``, ``n_samples`` draws of ε, per-draw estimates
    from each estimator. Returns per digit and estimator the mean estimate ``(m, k)``, the
    summed per-coordinate variance ``(m,)`` and the standard error of the mean ``(m, k)``.
    ``estimators`` names the two to compare (a name may repeat, for the negative control).
    """
    fns = {"reparameterisation": lambda f, g, mu, lv, eps: vae.reparam_gradients(g, mu, lv, eps)[0],
           "score function": lambda f, g, mu, lv, eps: vae.score_function_gradients(f, mu, lv, eps)[0],
           "reparameterisation, noise path cut": lambda f, g, mu, lv, eps: g(np.repeat(mu[None], len(eps), axis=0))}
    mus, logvars = vae.encode_stats(model, X)
    rng = np.random.default_rng(seed)
    out = {f"{name} {what}": [] for name in estimators for what in ("mean", "variance", "stderr")}
    for x, mu, lv in zip(X, mus, logvars):
        f, g = vae.log_likelihood_fns(model, x)
        eps = rng.standard_normal((n_samples, len(mu)))
        for name in estimators:
            est = fns[name](f, g, mu, lv, eps)
            out[f"{name} mean"].append(est.mean(axis=0))
            out[f"{name} variance"].append(est.var(axis=0, ddof=1).sum())
            out[f"{name} stderr"].append(est.std(axis=0, ddof=1) / np.sqrt(n_samples))
    return {k: np.array(v) for k, v in out.items()}


def estimators_pass(study: Mapping[str, np.ndarray], a: str = "reparameterisation", b: str = "score function",
                    ratio_min: float = VARIANCE_RATIO_MIN, z_max: float = 5.0) -> bool:
    """The assert: both estimators agree on the gradient (every coordinate within ``z_max`` combined standard
    errors: both unbiased) and ``b``'s variance is at least ``ratio_min`` times ``a``'s for every digit."""
    diff = np.abs(study[f"{a} mean"] - study[f"{b} mean"])
    se = np.sqrt(study[f"{a} stderr"] ** 2 + study[f"{b} stderr"] ** 2)
    agree = bool(np.all(diff < z_max * se + 1e-9))
    return agree and bool(np.min(study[f"{b} variance"] / study[f"{a} variance"]) >= ratio_min)


def vae_run(latent_dim: int = 16, beta: float = 0.25, hidden: Sequence[int] = (256,), epochs: int = 150,
            seed: int = 0) -> vae.VAETrainingResult:
    """:func:`course_utils.scratch.vae.train_vae` on the yardstick's training digits (batch size and learning
    rate of :data:`course_utils.scratch.vae.DIGIT_VAE`); cached per kernel, so the notebook and the widget share runs."""
    return _vae_run(int(latent_dim), float(beta), tuple(int(h) for h in hidden), int(epochs), int(seed))


@lru_cache(maxsize=8)
def _vae_run(latent_dim: int, beta: float, hidden: tuple[int, ...], epochs: int, seed: int) -> vae.VAETrainingResult:
    return vae.train_vae(yardstick().train_images, latent_dim=latent_dim, beta=beta, hidden=hidden, epochs=epochs,
                         batch_size=vae.DIGIT_VAE["batch_size"], lr=vae.DIGIT_VAE["lr"], seed=seed)


def score_sets(sets: Mapping[str, np.ndarray]) -> dict[str, sample_quality.SampleScore]:
    """Each set of digits (pixels in [0, 1]) on the yardstick."""
    yard = yardstick()
    return {name: yard.score(images) for name, images in sets.items()}


def beats_gaussian(fd_model: float, fd_gaussian: float, max_ratio: float = VAE_MAX_FD_RATIO) -> bool:
    """The assert: the model's Fréchet distance is below ``max_ratio`` × the fitted Gaussian's."""
    return bool(fd_model < max_ratio * fd_gaussian)


def format_scores(scores: Mapping[str, sample_quality.SampleScore]) -> str:
    """A plain-text table of yardstick scores."""
    width = max(len(n) for n in scores) + 2
    lines = [f"{'':<{width}}{'Fréchet distance':>18}{'confidence':>12}{'class entropy':>15}"]
    lines += [f"{n:<{width}}{s.frechet:>18.1f}{s.confidence:>12.3f}{s.class_entropy:>15.3f}" for n, s in scores.items()]
    return "\n".join(lines)


def plot_vae_training(runs: Mapping[str, vae.VAETrainingResult], ax=None):
    """Per-epoch reconstruction term and KL term of each run (nats per digit)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    for i, (name, r) in enumerate(runs.items()):
        ep = np.arange(1, len(r.recons) + 1)
        ax.plot(ep, r.recons, color=plotting.COLORS[i], label=f"{name}: reconstruction")
        ax.plot(ep, r.kls, color=plotting.COLORS[i], ls="--", label=f"{name}: KL")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("nats per digit (training set)")
    ax.set_title("the two terms of the negative ELBO")
    ax.legend(fontsize=8)
    return ax


def plot_latent_space(model: vae.VAE, X: np.ndarray, y: np.ndarray, ax=None, point: Sequence[float] | None = None):
    """The encoder's means of the digits ``X`` in a 2-D latent space, coloured by their label."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.6, 4.6))
    mu = vae.encode_mean(model, X)
    for c in range(10):
        m = y == c
        ax.scatter(mu[m, 0], mu[m, 1], s=6, color=plotting.COLORS[c], alpha=0.6, label=str(c))
    if point is not None:
        ax.plot([point[0]], [point[1]], "k*", ms=16, mec="w")
    ax.set_xlim(-3.2, 3.2)
    ax.set_ylim(-3.2, 3.2)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.legend(ncol=2, fontsize=7, markerscale=2, loc="upper left", bbox_to_anchor=(1.0, 1.0), title="digit")
    ax.set_title("encoder means μ of the digits, coloured by label")
    return ax


def plot_decoded_grid(model: vae.VAE, side: int = 11, limit: float = 2.5):
    """The decoder's digits on a ``side × side`` grid of the 2-D latent space, ``z`` from −limit to limit."""
    g = np.linspace(-limit, limit, side)
    z = np.array([[a, b] for b in g[::-1] for a in g])
    images = vae.decode_images(model, z).reshape(side, side, 8, 8)
    canvas = np.full((side * 9 - 1, side * 9 - 1), np.nan)  # NaN gaps: drawn white
    for r in range(side):
        for c in range(side):
            canvas[r * 9:r * 9 + 8, c * 9:c * 9 + 8] = images[r, c]
    fig, ax = plt.subplots(figsize=(5.0, 5.0))
    ax.imshow(canvas, cmap=plt.get_cmap("gray_r").with_extremes(bad="white"), vmin=0, vmax=1,
              extent=(-limit - 0.25, limit + 0.25, -limit - 0.25, limit + 0.25), interpolation="nearest")
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.set_title("what the 2-D VAE decodes across its latent space")
    ax.grid(False)
    return fig


def interpolation_rows(model: vae.VAE, pairs: Sequence[tuple[np.ndarray, np.ndarray]], steps: int = 8) -> np.ndarray:
    """For each pair of digits: decode the straight line between their latent means. ``(pairs · steps, 64)``."""
    rows = []
    for a, b in pairs:
        za, zb = vae.encode_mean(model, np.stack([a, b]))
        rows.append(vae.decode_images(model, vae.interpolate(za, zb, steps)))
    return np.concatenate(rows)


# ===================================================================== widget
@lru_cache(maxsize=1)
def latent_vae() -> vae.VAE:
    """The widget's 2-D-latent VAE (trained once per kernel; see :data:`LATENT_VAE`)."""
    return vae_run(**LATENT_VAE).model


#: the 2-D VAE of the latent-space section and the widget
LATENT_VAE = dict(latent_dim=2, beta=1.0, hidden=(256, 256), epochs=100, seed=0)


@lru_cache(maxsize=1)
def _latent_map() -> tuple[np.ndarray, np.ndarray]:
    yard = yardstick()
    return vae.encode_mean(latent_vae(), yard.train_images), yard.train_labels


@frame
def draw_vae_latent(z1: float = 0.0, z2: float = 0.0):
    """The widget: where ``(z1, z2)`` sits among the encoded training digits, and the digit decoded there."""
    if not (np.isfinite(z1) and np.isfinite(z2)):
        raise ValueError("z1 and z2 must be finite numbers")
    mu, y = _latent_map()
    fig, (ax, ax_img) = plt.subplots(1, 2, figsize=(7.6, 3.8), gridspec_kw={"width_ratios": [1.35, 1]})
    fig.set_layout_engine("none")
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.13, top=0.88, wspace=0.45)
    for c in range(10):
        m = y == c
        ax.scatter(mu[m, 0], mu[m, 1], s=4, color=plotting.COLORS[c], alpha=0.5)
        if m.any():
            cx, cy = np.median(mu[m], axis=0)
            ax.text(cx, cy, str(c), fontsize=10, weight="bold", ha="center", va="center", color=plotting.COLORS[c],
                    bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.7))
    ax.plot([z1], [z2], "k*", ms=16, mec="w")
    ax.set_xlim(-3.2, 3.2)
    ax.set_ylim(-3.2, 3.2)
    ax.set_xlabel("z₁")
    ax.set_ylabel("z₂")
    ax.set_title("encoded training digits (μ)")
    image = vae.decode_images(latent_vae(), np.array([[z1, z2]]))[0]
    ax_img.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax_img.set_axis_off()
    ax_img.set_title(f"decoded at z = ({z1:+.2f}, {z2:+.2f})")
    if np.hypot(z1, z2) > 2.5:
        ax_img.text(0.5, -0.08, "far out in the prior's tail:\nfew training digits live here", ha="center",
                    va="top", transform=ax_img.transAxes, fontsize=9, color=plotting.COLORS[3])
    return fig


# ==================================================================== checks
def check_pca_reconstruct(fn: Callable, trials: int = 5) -> checks.CheckResult:
    """Check ``fn(X, k) -> X_hat``: the projection of the rows of ``X`` onto their top ``k`` principal components."""
    def make_inputs(rng):
        n, d = int(rng.integers(8, 30)), int(rng.integers(3, 9))
        X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + rng.normal(scale=3, size=d)  # not centred
        return (X, int(rng.integers(1, d)))

    def reference(X, k):
        model = pca.pca(X, k)
        return pca.reconstruct(model, pca.project(model, X))

    return checks.check_function(fn, reference, make_inputs, name="pca_reconstruct", trials=trials, rtol=1e-7, atol=1e-9)


def untrained_angle(seed: int = 0, k: int = CODE_K) -> float:
    """The largest principal angle (degrees) between an untrained linear autoencoder's decoder and PCA's subspace."""
    X = yardstick().train_images
    params = autoencoders.init_linear_autoencoder(X.shape[1], k, np.random.default_rng(seed))
    return float(subspace_angles_deg(params["W_dec"], pca.pca(X, k)).max())


def check_untrained_angle_prediction(prediction, seed: int = 0, tol: float = 8.0) -> checks.CheckResult:
    """Predict-then-run: the largest principal angle of a random 10-dimensional subspace of R⁶⁴ to PCA's."""
    actual = untrained_angle(seed)
    hint = (f"a random 10-dimensional subspace of a 64-dimensional space is nearly orthogonal to any fixed one: "
            f"some direction in it is almost perpendicular to all ten principal components, so the largest angle "
            f"is {actual:.1f}°, close to 90°. Only the smallest angles are moderate")
    return checks.check_value(prediction, actual, name="your predicted largest angle (degrees)", rtol=0, atol=tol,
                              hint=hint)


def check_gaussian_kl_diag(fn: Callable, trials: int = 5) -> checks.CheckResult:
    """Derive-then-check: ``fn(mu_q, logvar_q, mu_p, logvar_p) -> (n,)``, the KL between diagonal Gaussians
    per row (summed over coordinates), for ``(n, k)`` inputs; the first trial has a standard-normal ``p``."""
    first = [True]

    def make_inputs(rng):
        n, k = int(rng.integers(1, 6)), int(rng.integers(1, 5))
        mu_q, logvar_q = rng.normal(scale=1.5, size=(n, k)), rng.normal(size=(n, k))
        if first[0]:
            first[0] = False
            return (mu_q, logvar_q, np.zeros((n, k)), np.zeros((n, k)))
        return (mu_q, logvar_q, rng.normal(scale=1.5, size=(n, k)), rng.normal(size=(n, k)))

    return checks.check_function(fn, vae.gaussian_kl_diag, make_inputs, name="gaussian_kl_diag", trials=trials,
                                 rtol=1e-8)


def _reparam_probe(fn: Callable) -> Callable:
    """Wrap a torch reparameterisation ``fn(mu, logvar, eps) -> z`` so that it returns ``z`` and the
    gradients of ``Σ c·z`` for ``mu`` and ``logvar``: what the check compares."""
    def probe(mu, logvar, eps, c):
        mu_t, lv_t = torch.tensor(mu, requires_grad=True), torch.tensor(logvar, requires_grad=True)
        z = fn(mu_t, lv_t, torch.tensor(eps))
        if not isinstance(z, torch.Tensor):
            raise TypeError(f"reparameterize should return a torch tensor, got {type(z).__name__}")
        grads = [None, None]
        if z.requires_grad:
            grads = torch.autograd.grad((z * torch.tensor(c)).sum(), (mu_t, lv_t), allow_unused=True)
        return {"z": z.detach().numpy(),
                "gradient for mu": np.zeros_like(mu) if grads[0] is None else grads[0].numpy(),
                "gradient for logvar": np.zeros_like(logvar) if grads[1] is None else grads[1].numpy()}
    return probe


def check_reparameterize(fn: Callable, trials: int = 5) -> checks.CheckResult:
    """Debug-this: ``fn(mu, logvar, eps) -> z`` in torch; compares ``z`` and the gradients of ``Σ c·z``
    that flow back into ``mu`` and ``logvar`` (a gradient that never arrives counts as zero)."""
    def make_inputs(rng):
        n, k = int(rng.integers(1, 5)), int(rng.integers(1, 4))
        return (rng.normal(size=(n, k)), rng.normal(size=(n, k)), rng.normal(size=(n, k)), rng.normal(size=(n, k)))

    return checks.check_function(_reparam_probe(fn), _reparam_probe(vae.reparameterize_torch), make_inputs,
                                 name="reparameterize", trials=trials, rtol=1e-8)


#: the derive-then-check exercise: Var(score function) / Var(reparameterisation) for f(z) = z², μ = 0, σ = 1
VARIANCE_RATIO_EXACT = 15.0 / 4.0


def check_variance_ratio(answer) -> checks.CheckResult:
    """Derive-then-check: the variance ratio of the two estimators of d/dμ E[z²] at μ = 0, σ = 1 (15/4)."""
    hint = ("with z = μ + σε the pathwise estimate is 2z = 2ε (variance 4); the score-function estimate is "
            "f(z)·(z − μ)/σ² = ε³, whose variance is E[ε⁶] − (E[ε³])² = 15 − 0 = 15")
    return checks.check_value(answer, VARIANCE_RATIO_EXACT, name="Var(score) / Var(reparameterisation)", rtol=1e-3,
                              hint=hint)
