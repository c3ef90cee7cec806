"""Chapter 18 · generative adversarial networks: the figures, the widget, the experiments and the checks.

- The optimal discriminator on 1-D Gaussians: :func:`optimal_discriminator_study` (a logistic
  regression on ``(x, x²)`` fitted by Newton's method against ``D*``), :func:`dstar_matches`
  (threshold :data:`DSTAR_TOL`), :func:`value_at_optimum`, :func:`plot_optimal_discriminator`.
- The generator's losses at the start of training: :func:`plot_generator_losses` and
  :func:`generator_gradient_study`, :func:`saturating_vanishes` (:data:`GRAD_RATIO_MIN`).
- The ring of Gaussians: :func:`ring_data`, :func:`ring_lrs`, :func:`ring_run` (cached training
  runs, shared by the notebook, the widget and the design exercise), :func:`evaluate_ring`,
  :func:`covers_modes` (:data:`MODES_MIN`, :data:`HIGH_QUALITY_MIN`), :func:`collapsed`,
  :func:`plot_ring_samples`, :func:`plot_snapshots`, :func:`plot_dynamics`.
- The widget :func:`draw_gan_ring`: the generator:discriminator learning-rate ratio and the step
  → samples over the data's density.
- Digits: :func:`digit_gan` (``gan.train_digit_gan``, cached) and the yardstick (:func:`yardstick`, :func:`score_sets`,
  :func:`digit_gan_passes`).
- Checks: :func:`check_discriminator_loss`, :func:`check_dstar_prediction` (predict-then-run),
  :func:`check_generator_loss` (debug-this), :func:`check_ring_design` (design-to-a-target),
  :func:`check_equilibrium_value` (derive-then-check).
"""
from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import cache, checks, data, plotting, training
from ..base import running_mean
from ..config import one_thread
from ..digit_models import digit_gan, yardstick  # noqa: F401 (the notebook calls ch.digit_gan, ch.yardstick)
from ..scratch import gan, glm, sample_quality
from ..widgets import frame

# ------------------------------------------------------------------ constants
#: the 1-D game of the optimal-discriminator section: p_data = N(0, 1), p_g = N(1, 0.5²)
P_DATA, P_G = (0.0, 1.0), (1.0, 0.5)
#: a fitted discriminator "is D*" when it is within this of D* wherever the mixture (p_data + p_g)/2 has a density
#: above 0.05. Measured over seeds 0–7: 0.003–0.016 with 20,000 samples per side, 0.006–0.034 with 5,000 (quick);
#: fitted against the wrong generator, N(1.5, 0.5²): 0.34–0.36, N(1, 0.6²): 0.13–0.15.
DSTAR_TOL = 0.06
#: the ring benchmark
RING = dict(modes=8, radius=2.0, std=0.02)
#: the main ring GAN: non-saturating loss + R1 penalty, MLPs 2×128, Adam 2e-3 (β₁ = 0.5), cosine, batch 128
RING_GAN = dict(steps=2000, batch_size=128, z_dim=16, hidden=128, depth=2, r1_every=4, cosine=True)
LR_G, R1_GAMMA = 2e-3, 0.1
#: the assert: at least MODES_MIN of the 8 modes covered (≥ 20 of 2,000 samples within 3σ) and at least
#: HIGH_QUALITY_MIN of all samples within 3σ of a centre. Measured with lr_G : lr_D = 1 (seeds 0–4): 8 modes
#: every time, 0.53–0.67 of the samples within 3σ; the collapsed runs (ratio 10): 0–1 modes, 0.00–0.02.
MODES_MIN, HIGH_QUALITY_MIN = 7, 0.4
N_EVAL = 2000
#: a run has collapsed when at most this many modes receive ≥ 5 % of the samples (nearest centre). Measured:
#: ratio 10 (seeds 0–4) 1–2 modes; ratio 1 (seeds 0–4) all 8; a Gaussian fitted to the ring: 8.
COLLAPSED_MAX_OCCUPIED = 3
#: steps of the collapsed run (it has collapsed long before: measured at ratio 10, seeds 0–4, 1,000 steps: 0–1 modes
#: covered, 1–2 occupied)
COLLAPSE_STEPS = 1000
#: the widget's generator:discriminator learning-rate ratios (lr_G fixed at LR_G) and snapshot steps
RATIOS = (0.3, 1.0, 3.0, 10.0)
SNAPSHOT_STEPS = tuple(range(0, 2001, 250))
#: the saturating loss's gradient at the start of training is this many times smaller than the non-saturating one's
GRAD_RATIO_MIN = 10.0
#: the digit assert: the GAN's Fréchet distance is below this fraction of the fitted Gaussian's (the yardstick's
#: negative control, which fails it: another draw of it scores 0.97–1.07 × the first, draws 1–9 against draw 0). Measured
#: (gan.DIGIT_GAN, seeds 0–4): 20–42 against the Gaussian's 64–71 (ten draws), ratios 0.30–0.66; untrained
#: generator 1,750; the same GAN after 300 steps and blurred real digits far above.
DIGIT_MAX_FD_RATIO = 0.8
N_SCORE = 500


# ================================================= the optimal discriminator
def optimal_discriminator_study(n: int = 20_000, seed: int = 0, p_data=P_DATA, p_g=P_G,
                                fake_from=None) -> dict[str, np.ndarray]:
    """Fit a discriminator ``σ(w₀ + w₁x + w₂x²)`` by maximising ``V(D, G)`` on samples, and compare it with ``D*``.

    ``n`` samples from ``p_data`` (label 1) and from the generator (label 0; ``fake_from`` replaces
    ``p_g`` as the generator actually sampled: the negative control). The logistic loss on these
    labels is ``−V``, so Newton's method on it (chapter 04's GLM) maximises ``V``.
    Returns the grid ``x``, ``D*`` on it, the fitted ``D`` on it, the largest difference where the mixture
    ``(p_data + p_g)/2`` has a density above 0.05 (``"max error"``; further out there are too few samples to
    pin ``D`` down) and the mean difference under the mixture (``"mean error"``).
    """
    rng = np.random.default_rng(seed)
    fake = fake_from or p_g
    x_real, x_fake = rng.normal(p_data[0], p_data[1], n), rng.normal(fake[0], fake[1], n)
    X = glm.add_intercept(gan.quadratic_features(np.concatenate([x_real, x_fake])))
    labels = np.concatenate([np.ones(n), np.zeros(n)])
    w = glm.glm_fit("logistic", X, labels, method="newton", steps=30, tol=1e-10).w
    x = np.linspace(-4, 4, 401)
    d_star = gan.optimal_discriminator(gan.normal_logpdf(x, *p_data), gan.normal_logpdf(x, *p_g))
    d_fit = 1 / (1 + np.exp(-(glm.add_intercept(gan.quadratic_features(x)) @ w)))
    mixture = 0.5 * (np.exp(gan.normal_logpdf(x, *p_data)) + np.exp(gan.normal_logpdf(x, *p_g)))
    err = np.abs(d_fit - d_star)
    return {"x": x, "D*": d_star, "D fitted": d_fit, "weights": w,
            "mean error": float(np.sum(err * mixture) / np.sum(mixture)),
            "max error": float(np.max(err[mixture > 0.05]))}


def dstar_matches(study: Mapping[str, np.ndarray], tol: float = DSTAR_TOL) -> bool:
    """The assert: the fitted discriminator is within ``tol`` of ``D*`` wherever the data or the generator live."""
    return bool(study["max error"] < tol)


def value_at_optimum(p_data=P_DATA, p_g=P_G, n: int = 200_000, seed: int = 0) -> dict[str, float]:
    """``V(D*, G)`` two ways: a Monte Carlo average over samples, and ``−log 4 + 2 JS(p_data ‖ p_g)`` by quadrature."""
    rng = np.random.default_rng(seed)
    x_real, x_fake = rng.normal(p_data[0], p_data[1], n), rng.normal(p_g[0], p_g[1], n)

    def d_star(x):
        return gan.optimal_discriminator(gan.normal_logpdf(x, *p_data), gan.normal_logpdf(x, *p_g))

    terms_real, terms_fake = np.log(d_star(x_real)), np.log1p(-d_star(x_fake))
    grid = np.linspace(-12, 12, 48_001)
    js = gan.jensen_shannon(np.exp(gan.normal_logpdf(grid, *p_data)), np.exp(gan.normal_logpdf(grid, *p_g)),
                            grid[1] - grid[0])
    return {"V(D*, G), Monte Carlo": float(terms_real.mean() + terms_fake.mean()),
            "standard error": float(np.sqrt(terms_real.var() / n + terms_fake.var() / n)),
            "−log 4 + 2 JS": float(-np.log(4) + 2 * js), "JS": js}


def plot_optimal_discriminator(study: Mapping[str, np.ndarray], ax=None, p_data=P_DATA, p_g=P_G):
    """The two densities and ``D*`` against the fitted discriminator."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.6, 4.0))
    x = study["x"]
    ax.fill_between(x, np.exp(gan.normal_logpdf(x, *p_data)), alpha=0.25, color=plotting.COLORS[0],
                    label=f"p_data = N({p_data[0]:g}, {p_data[1]:g}²)")
    ax.fill_between(x, np.exp(gan.normal_logpdf(x, *p_g)), alpha=0.25, color=plotting.COLORS[1],
                    label=f"p_g = N({p_g[0]:g}, {p_g[1]:g}²)")
    ax.plot(x, study["D*"], color="k", label="D*(x) = p_data / (p_data + p_g)")
    ax.plot(x, study["D fitted"], "--", color=plotting.COLORS[2], label="D fitted by maximising V")
    ax.axhline(0.5, color="k", lw=0.6, alpha=0.4)
    ax.set_xlabel("x")
    ax.set_ylabel("density  /  D(x)")
    ax.set_title("the optimal discriminator on two 1-D Gaussians")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return ax


# ======================================================== the generator losses
def plot_generator_losses(ax=None):
    """Both generator losses and their slopes as functions of ``D(G(z))``."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    logits = np.linspace(-7, 4, 400)
    d = 1 / (1 + np.exp(-logits))
    sat = np.array([gan.generator_loss_saturating(np.array([v]))[0] for v in logits])
    ns = np.array([gan.generator_loss_nonsaturating(np.array([v]))[0] for v in logits])
    ax.plot(d, sat, color=plotting.COLORS[1], label="saturating: log(1 − D(G(z)))")
    ax.plot(d, ns, color=plotting.COLORS[0], label="non-saturating: −log D(G(z))")
    ax.axvspan(0, 0.05, color="k", alpha=0.08)
    ax.text(0.06, 3.2, "D rejects the fakes:\nthe saturating curve is flat", fontsize=9)
    ax.set_xlabel("D(G(z)): the discriminator's belief that a fake is real")
    ax.set_ylabel("generator loss (minimised)")
    ax.set_title("two losses for the generator")
    ax.legend()
    return ax


def generator_gradient_study(d_steps: int = 300, seed: int = 0, batch_size: int = 256) -> dict[str, float]:
    """The start of training on the ring: train only the discriminator for ``d_steps`` steps against an untrained
    generator, then measure the norm of the generator's parameter gradient under each loss on one batch.

    Returns the mean ``D(G(z))`` and both gradient norms (``d_steps = 0``: an untrained discriminator).
    """
    G, D = gan.build_gan(2, RING_GAN["z_dim"], RING_GAN["hidden"], RING_GAN["depth"], seed)
    gen = torch.Generator().manual_seed(seed)
    real_all = torch.tensor(ring_data(), dtype=torch.float32)   # a copy: ring_data() is read-only
    labels = torch.cat([torch.ones(batch_size), torch.zeros(batch_size)])

    def next_batch(step: int):
        """Real points (label 1) and the frozen generator's points (label 0): D's side of the game."""
        with torch.no_grad():
            fake = G(torch.randn(batch_size, RING_GAN["z_dim"], generator=gen))
        return torch.cat([real_all[torch.randint(len(real_all), (batch_size,), generator=gen)], fake]), labels

    if d_steps > 0:   # equal halves: the mean cross-entropy is −V/2, the discriminator's loss of the game
        opt = torch.optim.Adam(D.parameters(), lr=LR_G, betas=(0.5, 0.999))
        training.train_steps(D, next_batch, torch.nn.functional.binary_cross_entropy_with_logits, opt, d_steps,
                             progress=False, device="cpu")
    z = torch.randn(batch_size, RING_GAN["z_dim"], generator=gen)
    with torch.no_grad():
        out = {"mean D(G(z))": float(torch.sigmoid(D(G(z))).mean())}
    for name, fn in (("saturating", lambda f: -torch.nn.functional.softplus(f).mean()),
                     ("non-saturating", lambda f: torch.nn.functional.softplus(-f).mean())):
        G.zero_grad()
        fn(D(G(z))).backward()
        out[f"{name} gradient norm"] = float(torch.sqrt(sum((p.grad ** 2).sum() for p in G.parameters())))
    return out


def saturating_vanishes(study: Mapping[str, float], ratio_min: float = GRAD_RATIO_MIN) -> bool:
    """The assert: the non-saturating gradient is at least ``ratio_min`` times the saturating one."""
    return bool(study["non-saturating gradient norm"] > ratio_min * study["saturating gradient norm"])


# ============================================================ the ring
@lru_cache(maxsize=1)
def ring_data(n: int = 20_000, seed: int = 12345) -> np.ndarray:
    """A fixed sample of the ring of Gaussians (``data.make_ring_of_gaussians``), which every GAN draws batches from."""
    X, _ = data.make_ring_of_gaussians(n, np.random.default_rng(seed), **RING)
    X.flags.writeable = False
    return X


def ring_centers() -> np.ndarray:
    return data.ring_centers(RING["modes"], RING["radius"])


def ring_lrs(ratio: float) -> tuple[float, float]:
    """``(lr_G, lr_D)`` for a generator:discriminator learning-rate ratio, with ``lr_G`` fixed at :data:`LR_G`."""
    if not ratio > 0:
        raise ValueError(f"the learning-rate ratio must be positive, got {ratio}")
    return LR_G, round(LR_G / ratio, 10)


def ring_run(lr_g: float = LR_G, lr_d: float = LR_G, steps: int = 2000, r1_gamma: float = R1_GAMMA,
             seed: int = 0, generator_loss: str = "non-saturating") -> gan.GANTrainingResult:
    """One GAN on :func:`ring_data` (settings :data:`RING_GAN`), with snapshots at :data:`SNAPSHOT_STEPS`.

    Cached per kernel: the notebook and the design exercise share runs. Trained on one thread,
    which is as fast as two for networks this small, so that a run is the same whatever the
    notebook's thread setting: the widget's shipped runs (:func:`widget_run`) are these runs.
    """
    return _ring_run(float(lr_g), float(lr_d), int(steps), float(r1_gamma), int(seed), str(generator_loss))


@lru_cache(maxsize=16)
def _ring_run(lr_g: float, lr_d: float, steps: int, r1_gamma: float, seed: int,
              generator_loss: str) -> gan.GANTrainingResult:
    settings = {**RING_GAN, "steps": steps}
    with one_thread():
        return gan.train_gan(ring_data(), lr_g=lr_g, lr_d=lr_d, r1_gamma=r1_gamma, seed=seed, generator_loss=generator_loss,
                             snapshot_steps=[s for s in SNAPSHOT_STEPS if s <= steps], **settings)


# ------------------------------------------------ the widget's runs, shipped with the course
#: the widget's runs (every ratio of :data:`RATIOS`, seed 0, :data:`RING_GAN`): their snapshots, made on one thread
#: by ``python -m course_utils.chapters.ch18_gans`` (about 25 s). Training one takes about 5 s, which a student
#: would otherwise wait at the first frame of each ratio; the widget uses them only if they were made by this
#: code, data and torch version (:func:`widget_run`)
WIDGET_RUNS_FILE = cache.SHIPPED_DIR / "ch18_ring_runs.npz"
WIDGET_RUNS_SHA256 = "0837b307f81d79d439293ee824accbc2d329af67d8c97c4ed604007dda38ec5e"


@dataclass(frozen=True)
class RingSnapshots:
    """What the widget draws of a run: samples at each of :data:`SNAPSHOT_STEPS`, and whether it diverged."""

    snapshots: dict[int, np.ndarray]
    diverged: bool
    message: str


def _widget_arrays(ratio: float) -> dict[str, np.ndarray]:
    run = ring_run(*ring_lrs(ratio))     # shared with the notebook's runs: ratio 1 is the chapter's main run
    return {**{f"snapshot/{k}": np.asarray(v, dtype=np.float32) for k, v in run.snapshots.items()},
            "diverged": np.asarray(run.diverged), "message": np.asarray(run.message)}


@lru_cache(maxsize=1)
def _widget_version() -> str:
    """A hash of what the widget's runs depend on: the GAN code, this recipe, the ring's data and the torch version."""
    code = "".join(inspect.getsource(f) for f in (gan, _ring_run, _widget_arrays))
    code += repr((RING, RING_GAN, LR_G, R1_GAMMA, SNAPSHOT_STEPS))
    h = hashlib.sha256((code + torch.__version__).encode())
    h.update(np.ascontiguousarray(ring_data()).tobytes())
    return h.hexdigest()[:12]


@lru_cache(maxsize=len(RATIOS))
def widget_run(ratio: float) -> RingSnapshots:
    """The widget's run at ``lr_G : lr_D = ratio``: from the disk cache, else the shipped file, else trained here."""
    if ratio not in RATIOS:
        raise ValueError(f"the ratio must be one of the precomputed {list(RATIOS)}, got {ratio}")
    a = cache.cached_or_shipped(f"ch18-ring-ratio{ratio:g}", lambda: _widget_arrays(ratio), _widget_version(),
                                cache.read_shipped(WIDGET_RUNS_FILE, WIDGET_RUNS_SHA256))
    return RingSnapshots({int(k.split("/")[1]): v for k, v in a.items() if k.startswith("snapshot/")},
                         bool(a["diverged"]), str(a["message"]))


def write_widget_runs(path=WIDGET_RUNS_FILE) -> str:
    """Train the widget's runs (one thread) and write them to ``path``; returns the file's SHA-256."""
    return cache.write_shipped(path, {f"ch18-ring-ratio{r:g}": (_widget_arrays(r), _widget_version()) for r in RATIOS})


@dataclass(frozen=True)
class RingVerdict:
    """Mode coverage (:func:`course_utils.scratch.gan.mode_coverage`) and occupancy of one set of samples."""

    modes_covered: int
    high_quality: float
    occupied: int            # modes that are the nearest centre of at least 5 % of the samples
    counts: np.ndarray


def evaluate_ring(samples: np.ndarray) -> RingVerdict:
    """Modes covered (≥ 1 % of the samples within 3σ), high-quality share and occupied modes."""
    C = ring_centers()
    cov = gan.mode_coverage(samples, C, RING["std"], n_sigma=3.0, min_count=max(1, len(samples) // 100))
    nearest = np.linalg.norm(np.asarray(samples)[:, None, :] - C[None], axis=2).argmin(axis=1)
    occupied = int(np.sum(np.bincount(nearest, minlength=len(C)) >= 0.05 * len(samples)))
    return RingVerdict(cov.modes_covered, cov.high_quality, occupied, cov.counts)


def covers_modes(v: RingVerdict, modes_min: int = MODES_MIN, quality_min: float = HIGH_QUALITY_MIN) -> bool:
    """The assert: at least ``modes_min`` modes covered and at least ``quality_min`` high-quality samples."""
    return bool(v.modes_covered >= modes_min and v.high_quality >= quality_min)


def collapsed(v: RingVerdict, max_occupied: int = COLLAPSED_MAX_OCCUPIED) -> bool:
    """The contrast's assert: the samples pile up on at most ``max_occupied`` modes."""
    return bool(v.occupied <= max_occupied)


def _density_grid(res: int = 160, lim: float = 2.6):
    g = np.linspace(-lim, lim, res)
    xx, yy = np.meshgrid(g, g)
    C, s = ring_centers(), 0.08  # drawn wider than the true 0.02 so that the modes are visible
    dens = sum(np.exp(-((xx - c[0]) ** 2 + (yy - c[1]) ** 2) / (2 * s ** 2)) for c in C)
    return xx, yy, dens


def plot_ring_samples(samples: np.ndarray, ax=None, title: str | None = None, verdict: RingVerdict | None = None):
    """Generated points over the ring's modes (the 3σ circles drawn around each centre)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.4, 4.4))
    for c in ring_centers():
        ax.add_patch(plt.Circle(c, 3 * RING["std"], fill=False, color="k", lw=0.8))
    ax.scatter(samples[:, 0], samples[:, 1], s=3, alpha=0.35, color=plotting.COLORS[0])
    ax.set_xlim(-2.7, 2.7)
    ax.set_ylim(-2.7, 2.7)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if verdict is not None:
        title = (title + "\n" if title else "") + f"{verdict.modes_covered}/8 modes, {verdict.high_quality:.0%} within 3σ"
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_snapshots(runs: Mapping[str, gan.GANTrainingResult], steps: Sequence[int]):
    """One row of snapshots per run: the same latents decoded after each of ``steps``."""
    fig, axes = plt.subplots(len(runs), len(steps), figsize=(1.9 * len(steps), 2.0 * len(runs)), squeeze=False)
    for r, (name, run) in enumerate(runs.items()):
        for c, s in enumerate(steps):
            ax = axes[r, c]
            S = run.snapshots[s]
            for center in ring_centers():
                ax.add_patch(plt.Circle(center, 3 * RING["std"], fill=False, color="k", lw=0.5))
            ax.scatter(S[:, 0], S[:, 1], s=1, alpha=0.4, color=plotting.COLORS[r])
            ax.set_xlim(-2.7, 2.7)
            ax.set_ylim(-2.7, 2.7)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"step {s}", fontsize=9)
            if c == 0:
                ax.set_ylabel(name, fontsize=9)
    return fig


def plot_dynamics(runs: Mapping[str, gan.GANTrainingResult], window: int = 50, ax=None):
    """Running means of the discriminator's and the generator's losses, with their values at the equilibrium."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.6, 4.0))
    for i, (name, r) in enumerate(runs.items()):
        steps = np.arange(1, len(r.d_losses) + 1)
        ax.plot(steps, running_mean(r.d_losses, window), color=plotting.COLORS[i], label=f"{name}: discriminator −V")
        ax.plot(steps, running_mean(r.g_losses, window), color=plotting.COLORS[i], ls="--",
                label=f"{name}: generator −log D(G(z))")
    ax.axhline(np.log(4), color="k", lw=0.8, ls=":", label="log 4 (D's loss at equilibrium)")
    ax.axhline(np.log(2), color="k", lw=0.8, ls="-.", label="log 2 (G's loss at equilibrium)")
    ax.set_xlabel("training step")
    ax.set_ylabel(f"loss (running mean of {window} steps)")
    ax.set_title("training dynamics")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return ax


@frame
def draw_gan_ring(ratio: float = 1.0, step: int = 2000):
    """The widget: samples of the GAN with learning rates ``lr_G : lr_D = ratio`` after ``step`` steps, over the data."""
    if ratio not in RATIOS:
        raise ValueError(f"the ratio must be one of the precomputed {list(RATIOS)}, got {ratio}")
    if step not in SNAPSHOT_STEPS:
        raise ValueError(f"step must be one of {list(SNAPSHOT_STEPS)}, got {step}")
    lr_g, lr_d = ring_lrs(ratio)
    run = widget_run(ratio)
    fig, ax = plt.subplots(figsize=(5.2, 4.8))
    fig.set_layout_engine("none")
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.11, top=0.86)
    xx, yy, dens = _density_grid()
    ax.contourf(xx, yy, dens, levels=[0.05, 0.5, 1.01], colors=["#e8e8e8", "#c8c8c8"])
    S = run.snapshots[step]
    v = evaluate_ring(S)
    ax.scatter(S[:, 0], S[:, 1], s=4, alpha=0.45, color=plotting.COLORS[1 if collapsed(v) else 0])
    ax.set_xlim(-2.6, 2.6)
    ax.set_ylim(-2.6, 2.6)
    ax.set_aspect("equal")
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_title(f"lr_G : lr_D = {ratio:g} (lr_G {lr_g:g}, lr_D {lr_d:g}), step {step}\n"
                 f"{v.modes_covered}/8 modes covered, {v.high_quality:.0%} of samples within 3σ", fontsize=10)
    if run.diverged:
        plotting.show_message(ax, run.message)
    elif step > 0 and collapsed(v):
        plotting.show_message(ax, f"mode collapse: the samples pile up on {v.occupied} mode(s)", kind="warning")
    return fig


# ================================================================== digits
def score_sets(sets: Mapping[str, np.ndarray]) -> dict[str, sample_quality.SampleScore]:
    """Each set of digits (pixels in [0, 1]) on the yardstick."""
    yard = yardstick()
    return {name: yard.score(images) for name, images in sets.items()}


def format_scores(scores: Mapping[str, sample_quality.SampleScore]) -> str:
    """A plain-text table of yardstick scores."""
    width = max(len(n) for n in scores) + 2
    lines = [f"{'':<{width}}{'Fréchet distance':>18}{'confidence':>12}{'class entropy':>15}"]
    lines += [f"{n:<{width}}{s.frechet:>18.1f}{s.confidence:>12.3f}{s.class_entropy:>15.3f}" for n, s in scores.items()]
    return "\n".join(lines)


def digit_gan_passes(fd_model: float, fd_gaussian: float, max_ratio: float = DIGIT_MAX_FD_RATIO) -> bool:
    """The digit assert: the model's Fréchet distance is below ``max_ratio`` × the fitted Gaussian's."""
    return bool(fd_model < max_ratio * fd_gaussian)


# ================================================================== checks
def check_discriminator_loss(fn: Callable, trials: int = 6) -> checks.CheckResult:
    """Check ``fn(real_logits, fake_logits) -> float``: ``−V``, stable for logits of ±1000 (the first trial has them)."""
    first = [True]

    def make_inputs(rng):
        r, f = rng.normal(scale=3, size=int(rng.integers(2, 12))), rng.normal(scale=3, size=int(rng.integers(2, 12)))
        if first[0]:
            first[0] = False
            r[0], f[0] = -1000.0, 1000.0  # a discriminator that is confidently wrong: a finite, large loss
        return (r, f)

    return checks.check_function(fn, lambda r, f: gan.discriminator_loss(r, f)[0], make_inputs,
                                 name="discriminator_loss", trials=trials, rtol=1e-9)


#: the predict-then-run exercise: D* of the section's Gaussians at this point
DSTAR_POINT = 3.0


def check_dstar_prediction(prediction, tol: float = 0.05) -> checks.CheckResult:
    """Predict-then-run: ``D*(3)`` for ``p_data = N(0, 1)`` and ``p_g = N(1, 0.5²)``."""
    actual = float(gan.optimal_discriminator(gan.normal_logpdf(DSTAR_POINT, *P_DATA), gan.normal_logpdf(DSTAR_POINT, *P_G)))
    hint = (f"both densities are tiny at x = 3, but D* depends on their ratio: p_g has the thinner tails "
            f"(σ = 0.5, and x = 3 is 4 of its σ away) while p_data is only 3 of its σ away, so p_data/p_g ≈ 16 "
            f"and D*(3) = {actual:.3f}. Far from the generator's samples the discriminator is sure: 'real'")
    return checks.check_value(prediction, actual, name="your predicted D*(3)", rtol=0, atol=tol, hint=hint)


def check_generator_loss(fn: Callable, trials: int = 6) -> checks.CheckResult:
    """Debug-this: ``fn(fake_logits) -> (loss, dlogits)``, the non-saturating loss ``−mean log D(G(z))`` and its
    gradient, stable for logits of ±1000 (the first trial has them)."""
    first = [True]

    def make_inputs(rng):
        f = rng.normal(scale=3, size=int(rng.integers(2, 12)))
        if first[0]:
            first[0] = False
            f[0] = -1000.0  # a fake the discriminator rejects completely
        return (f,)

    return checks.check_function(fn, gan.generator_loss_nonsaturating, make_inputs, name="generator_loss",
                                 trials=trials, rtol=1e-9)


def design_outcome(choice: Mapping[str, float], seed: int = 0) -> tuple[RingVerdict, str]:
    """Train the ring GAN with a student's ``choice`` (keys ``lr_g``, ``lr_d``, ``steps``, ``r1_gamma``) and judge it."""
    keys = {"lr_g", "lr_d", "steps", "r1_gamma"}
    if not isinstance(choice, Mapping) or set(choice) != keys:
        raise ValueError(f"choice must be a dict with exactly the keys {sorted(keys)}")
    steps = int(choice["steps"])
    if not 1 <= steps <= 2000:
        raise ValueError(f"steps must be between 1 and 2000 (the budget), got {steps}")
    run = ring_run(float(choice["lr_g"]), float(choice["lr_d"]), steps, float(choice["r1_gamma"]), seed)
    v = evaluate_ring(gan.sample_generator(run.generator, N_EVAL, seed=seed + 1))
    return v, run.message


def check_ring_design(choice, seed: int = 0) -> checks.CheckResult:
    """Design-to-a-target: a GAN that covers ≥ :data:`MODES_MIN` modes with ≥ :data:`HIGH_QUALITY_MIN` high-quality samples."""
    name = "your GAN design"
    if choice is Ellipsis or (isinstance(choice, Mapping) and Ellipsis in choice.values()):
        return checks.check_value(..., None, name=name)
    try:
        v, message = design_outcome(choice, seed)
    except (ValueError, TypeError) as exc:
        return checks.check_value(None, "a valid design", name=name, hint=str(exc))
    reached = {"modes covered": v.modes_covered >= MODES_MIN, "high-quality share": v.high_quality >= HIGH_QUALITY_MIN}
    hint = (f"it covers {v.modes_covered}/8 modes (target ≥ {MODES_MIN}) with {v.high_quality:.0%} of the samples within "
            f"3σ (target ≥ {HIGH_QUALITY_MIN:.0%}). {message} A slow discriminator lets the generator collapse; "
            "a penalty on D's gradient (r1_gamma) and a cosine-decayed learning rate sharpen the modes")
    return checks.check_value(reached, {k: True for k in reached}, name=name, hint=hint)


def check_equilibrium_value(answer) -> checks.CheckResult:
    """Derive-then-check: ``V(D*, G)`` when ``p_g = p_data`` (``−log 4``)."""
    hint = ("when p_g = p_data, D*(x) = p_data/(2 p_data) = 1/2 everywhere, so V = log ½ + log(1 − ½) = −log 4 ≈ −1.386")
    return checks.check_value(answer, -np.log(4), name="V(D*, G) at p_g = p_data", rtol=1e-3, hint=hint)


if __name__ == "__main__":  # python -m course_utils.chapters.ch18_gans: regenerate the widget's shipped runs
    print(f"wrote {WIDGET_RUNS_FILE}\nSHA-256 {write_widget_runs()}\nput this value into WIDGET_RUNS_SHA256 (and data/README.md)")
