"""Autoencoders: a linear one in NumPy, the transposed convolution, and convolutional ones in PyTorch (chapter 17).

Contract:

- Data are rows of pixels in ``[0, 1]``: ``X`` of shape ``(n, d)`` (``d = 64`` for the 8×8
  digits); images for the convolutional models are ``(n, 1, 8, 8)`` tensors.
- **Linear autoencoder** (NumPy, the layer contract of :mod:`course_utils.scratch.layers`):
  the code ``z = x W_enc + b_enc`` (``k`` numbers) and the reconstruction
  ``x̂ = z W_dec + b_dec``, trained on the mean squared error
  (:func:`course_utils.scratch.losses.mse_loss`) by full-batch gradient descent with
  momentum (:func:`course_utils.scratch.optimizers.sgd_momentum`).
  :func:`linear_autoencoder_loss` returns the loss and the gradient of every parameter;
  :func:`train_linear_autoencoder` returns a :class:`LinearAutoencoderResult`. The decoder's
  rows span the subspace the autoencoder reconstructs from: compare it with PCA's
  (:func:`course_utils.scratch.pca.principal_angles`).
- **Transposed convolution** (NumPy, a layer): :func:`conv_transpose2d_forward` ``(x, w, b)``
  with ``x (n, C_in, H, W)``, ``w (C_in, C_out, f, f)`` (PyTorch's layout for
  ``ConvTranspose2d``), ``b (C_out,)``; every input pixel adds ``x · w`` (a stamp of the
  kernel) into the output at stride ``s``, then ``padding`` rows and columns are cropped
  from each border. Output side :func:`transposed_output_size` ``= s (H − 1) + f − 2p``.
  :func:`conv_transpose2d_backward` returns ``(dx, dw, db)``.
- **Convolutional autoencoder** (PyTorch): :class:`ConvAutoencoder`, strided convolutions
  down to a ``code``-number bottleneck and transposed convolutions back up to 8×8.
  A **denoising** autoencoder is the same network trained to map :func:`add_noise`'d inputs
  to the clean images (chapter 17 trains both with ``training.train_steps``);
  :func:`reconstruct_images` applies a trained one to rows of pixels.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..base import blew_up, divergence_message, progress
from .layers import affine_backward, affine_forward
from .losses import mse_loss
from .optimizers import sgd_momentum

PARAM_NAMES = ("W_enc", "b_enc", "W_dec", "b_dec")


# ---------------------------------------------------------- linear autoencoder
def init_linear_autoencoder(d: int, k: int, rng: np.random.Generator, scale: float = 0.1) -> dict[str, np.ndarray]:
    """Small random weights ``N(0, scale²)`` and zero biases for a ``d → k → d`` linear autoencoder."""
    if not 1 <= k <= d:
        raise ValueError(f"the code size k must be between 1 and d = {d}, got {k}")
    return {"W_enc": rng.normal(scale=scale, size=(d, k)), "b_enc": np.zeros(k),
            "W_dec": rng.normal(scale=scale, size=(k, d)), "b_dec": np.zeros(d)}


def linear_autoencoder_loss(X: np.ndarray, params: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
    """Mean squared reconstruction error over all ``n · d`` entries and its gradient for every parameter."""
    Z, enc_cache = affine_forward(X, params["W_enc"], params["b_enc"])
    X_hat, dec_cache = affine_forward(Z, params["W_dec"], params["b_dec"])
    loss, dX_hat = mse_loss(X_hat, X)
    dZ, dW_dec, db_dec = affine_backward(dX_hat, dec_cache)
    _, dW_enc, db_enc = affine_backward(dZ, enc_cache)
    return loss, {"W_enc": dW_enc, "b_enc": db_enc, "W_dec": dW_dec, "b_dec": db_dec}


def linear_autoencoder_reconstruct(X: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    """``x̂ = (x W_enc + b_enc) W_dec + b_dec`` for every row of ``X``."""
    return (np.asarray(X, dtype=np.float64) @ params["W_enc"] + params["b_enc"]) @ params["W_dec"] + params["b_dec"]


@dataclass
class LinearAutoencoderResult:
    """What :func:`train_linear_autoencoder` returns: the final ``params``, the loss before every step."""

    params: dict[str, np.ndarray]
    losses: list[float] = field(default_factory=list)
    diverged: bool = False
    message: str = ""


def train_linear_autoencoder(X: np.ndarray, k: int, rng: np.random.Generator, steps: int = 1500, lr: float = 1.0,
                             momentum: float = 0.9, params: dict[str, np.ndarray] | None = None,
                             show_progress: bool = True) -> LinearAutoencoderResult:
    """Full-batch gradient descent with heavy-ball momentum on :func:`linear_autoencoder_loss`.

    Starts from ``params`` or from :func:`init_linear_autoencoder` with ``rng``. The loss is a
    mean over ``n · d`` entries, so its gradients are small and a learning rate near 1 is
    reasonable. Stops early, with ``diverged`` and a ``message``, if the loss blows up.
    """
    X = np.asarray(X, dtype=np.float64)
    params = {name: p.copy() for name, p in (params or init_linear_autoencoder(X.shape[1], k, rng)).items()}
    states: dict[str, dict] = {name: {} for name in PARAM_NAMES}
    result = LinearAutoencoderResult(params=params)
    for step in progress(range(steps), desc="linear autoencoder", total=steps, unit="step", show=show_progress):
        loss, grads = linear_autoencoder_loss(X, params)
        result.losses.append(loss)
        if blew_up(loss, result.losses[0]):
            result.diverged, result.message = True, divergence_message("the linear autoencoder", step, loss)
            break
        for name in PARAM_NAMES:
            params[name], states[name] = sgd_momentum(params[name], grads[name], states[name], lr=lr, momentum=momentum)
    return result


# ------------------------------------------------------ transposed convolution
def transposed_output_size(n: int, f: int, stride: int = 1, padding: int = 0) -> int:
    """Side of a transposed convolution's output: ``s (n − 1) + f − 2p`` (the inverse of ``(n + 2p − f)/s + 1``)."""
    return stride * (n - 1) + f - 2 * padding


def conv_transpose2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, padding: int = 0):
    """Transposed convolution: input pixel ``(h, v)`` adds ``x[:, :, h, v] · w`` at rows ``s·h …``, columns ``s·v …``.

    ``x (n, C_in, H, W)``, ``w (C_in, C_out, f, f)``, ``b (C_out,)`` → ``(n, C_out, H', W')`` with
    ``H' = s (H − 1) + f − 2p``. Written as one loop over the ``f × f`` kernel offsets: offset
    ``(i, j)`` sends every input pixel, mixed over channels by ``w[:, :, i, j]``, to the output
    grid ``i, i + s, i + 2s, …``. Same result as ``torch.nn.functional.conv_transpose2d``.
    """
    n, c_in, H, W = x.shape
    if w.ndim != 4 or w.shape[0] != c_in or w.shape[2] != w.shape[3]:
        raise ValueError(f"w must have shape (C_in={c_in}, C_out, f, f), got {w.shape}")
    c_out, f = w.shape[1], w.shape[2]
    if b.shape != (c_out,):
        raise ValueError(f"b must have shape ({c_out},), got {b.shape}")
    full = np.zeros((n, c_out, stride * (H - 1) + f, stride * (W - 1) + f))
    for i in range(f):
        for j in range(f):
            full[:, :, i:i + stride * H:stride, j:j + stride * W:stride] += np.einsum("nchw,co->nohw", x, w[:, :, i, j])
    Hf, Wf = full.shape[2:]
    out = full[:, :, padding:Hf - padding, padding:Wf - padding] + b[None, :, None, None]
    if out.shape[2] < 1 or out.shape[3] < 1:
        raise ValueError(f"padding {padding} crops away the whole {Hf}×{Wf} output")
    return out, (x, w, stride, padding)


def conv_transpose2d_backward(dout: np.ndarray, cache):
    """``(dx, dw, db)``: each kernel offset reads back from the output grid it wrote to."""
    x, w, stride, padding = cache
    n, c_in, H, W = x.shape
    f = w.shape[2]
    dfull = np.pad(dout, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for i in range(f):
        for j in range(f):
            patch = dfull[:, :, i:i + stride * H:stride, j:j + stride * W:stride]  # (n, C_out, H, W)
            dx += np.einsum("nohw,co->nchw", patch, w[:, :, i, j])
            dw[:, :, i, j] = np.einsum("nchw,nohw->co", x, patch)
    return dx, dw, dout.sum(axis=(0, 2, 3))


# ------------------------------------------------- convolutional autoencoders
class ConvAutoencoder(nn.Module):
    """8×8 digits → ``code`` numbers → 8×8 digits.

    Encoder: 3×3 convolutions with stride 2 (1 → 16 channels, 8×8 → 4×4; 16 → 32, → 2×2),
    then a linear layer to the code. Decoder: a linear layer back to 32×2×2, then two 4×4
    transposed convolutions with stride 2 and padding 1 (2×2 → 4×4 → 8×8, since
    2·(2 − 1) + 4 − 2 = 4), and a sigmoid for pixels in ``[0, 1]``. Input and output
    ``(n, 1, 8, 8)``.
    """

    def __init__(self, code: int = 16):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(32 * 2 * 2, code))
        self.decoder = nn.Sequential(
            nn.Linear(code, 32 * 2 * 2), nn.ReLU(), nn.Unflatten(1, (32, 2, 2)),
            nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(16, 1, 4, stride=2, padding=1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def build_conv_autoencoder(code: int = 16, seed: int = 0) -> ConvAutoencoder:
    """A :class:`ConvAutoencoder` whose initial weights depend only on ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ConvAutoencoder(code)


def as_images(X) -> torch.Tensor:
    """Rows ``(n, 64)`` (NumPy or torch) as a float32 image batch ``(n, 1, 8, 8)``."""
    return torch.as_tensor(np.asarray(X), dtype=torch.float32).reshape(-1, 1, 8, 8)


def add_noise(X: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """``X + N(0, std²)`` entrywise (not clipped: the noise is exactly Gaussian)."""
    return np.asarray(X, dtype=np.float64) + std * rng.standard_normal(np.shape(X))


@torch.no_grad()
def reconstruct_images(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """``model`` applied to rows ``X (n, 64)``: reconstructions ``(n, 64)`` as float64."""
    model.eval()
    device = next(model.parameters()).device
    return model(as_images(X).to(device)).reshape(len(X), -1).double().cpu().numpy()
