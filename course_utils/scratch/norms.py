"""Normalisation layers: batch, layer, group and instance norm, on the layer contract.

All four standardise ``x`` over some axes and then apply a learned scale ``γ`` and
shift ``β``:

    x̂ = (x − μ) / √(σ² + ε),   out = γ x̂ + β,

where μ and σ² are the mean and the *biased* variance over the normalised axes.
They differ only in which axes those are, for ``x`` of shape ``(n, C)`` or
``(n, C, *spatial)`` (channels on axis 1, as in PyTorch):

==================  ===========================================  =============  =======================
layer               statistics over                              γ, β shape     PyTorch twin
==================  ===========================================  =============  =======================
batch norm          the batch and the spatial axes, per channel  ``(C,)``       ``F.batch_norm``
layer norm          all axes but the batch axis, per example     ``x.shape[1:]`` ``F.layer_norm``
group norm          groups of ``C/G`` channels, per example      ``(C,)``       ``F.group_norm``
instance norm       the spatial axes, per example and channel    ``(C,)``       ``F.instance_norm``
==================  ===========================================  =============  =======================

One backward serves them all: with ``m`` entries per statistic and ``g = ∂L/∂x̂``,

    ∂L/∂x = (1/√(σ² + ε)) · (g − mean(g) − x̂ · mean(g ⊙ x̂)),

the means running over the same axes as the statistics (derived in chapter 09).

Contract (``scratch.layers``): ``<name>_forward(x, gamma, beta, **options) -> (out, cache)``
and ``<name>_backward(dout, cache) -> (dx, dgamma, dbeta)``. Batch norm has two modes:
``batchnorm_forward`` uses the batch's statistics (training), ``batchnorm_eval_forward``
the running averages (inference); ``update_running_stats`` is the running-average rule of
``torch.nn.BatchNorm1d/2d``, and :class:`BatchNorm` ties the three together like
``nn.BatchNorm1d`` with its ``train()`` / ``eval()`` switch.
"""
from __future__ import annotations

import numpy as np

EPS = 1e-5  # PyTorch's default


def _normalize(x: np.ndarray, axes: tuple[int, ...], eps: float):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    return (x - mean) * inv_std, inv_std, mean, var


def _normalize_backward(dxhat: np.ndarray, xhat: np.ndarray, inv_std: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``∂L/∂x`` from ``∂L/∂x̂`` when ``x̂`` was standardised over ``axes`` (see the module docstring)."""
    return inv_std * (dxhat - dxhat.mean(axis=axes, keepdims=True)
                      - xhat * (dxhat * xhat).mean(axis=axes, keepdims=True))


def _channel_shape(x: np.ndarray) -> tuple[int, ...]:
    """``(1, C, 1, …)``: how a per-channel vector broadcasts against ``x``."""
    if x.ndim < 2:
        raise ValueError(f"normalisation layers need x of shape (n, C) or (n, C, ...), got {x.shape}")
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _check_channel_params(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, name: str) -> None:
    c = x.shape[1]
    if gamma.shape != (c,) or beta.shape != (c,):
        raise ValueError(f"{name}: gamma {gamma.shape} and beta {beta.shape} must have shape ({c},), one per channel")


# ------------------------------------------------------------------- batch norm
def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = EPS):
    """Batch norm in training mode (Ioffe & Szegedy, 2015): statistics of *this batch*, per channel.

    The cache also carries the batch mean and biased variance (``cache["mean"]``,
    ``cache["var"]``) for the running averages.
    """
    _check_channel_params(x, gamma, beta, "batchnorm_forward")
    if x.size // x.shape[1] < 2:
        raise ValueError("batchnorm_forward: one value per channel has no variance; "
                         "use a batch of at least 2 in training mode (or batchnorm_eval_forward)")
    axes = (0,) + tuple(range(2, x.ndim))
    xhat, inv_std, mean, var = _normalize(x, axes, eps)
    shape = _channel_shape(x)
    out = gamma.reshape(shape) * xhat + beta.reshape(shape)
    return out, {"xhat": xhat, "inv_std": inv_std, "gamma": gamma, "axes": axes,
                 "mean": mean.reshape(-1), "var": var.reshape(-1), "n": x.size // x.shape[1]}


def batchnorm_backward(dout: np.ndarray, cache):
    """``(dx, dgamma, dbeta)``; every example's gradient depends on the whole batch through μ and σ²."""
    xhat, axes = cache["xhat"], cache["axes"]
    gamma = cache["gamma"].reshape(_channel_shape(dout))
    dgamma = (dout * xhat).sum(axis=axes)
    dbeta = dout.sum(axis=axes)
    return _normalize_backward(dout * gamma, xhat, cache["inv_std"], axes), dgamma, dbeta


def batchnorm_eval_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, running_mean: np.ndarray,
                           running_var: np.ndarray, eps: float = EPS):
    """Batch norm at inference: fixed ``running_mean`` / ``running_var``, so each example is
    processed independently of the others (a per-channel affine map)."""
    _check_channel_params(x, gamma, beta, "batchnorm_eval_forward")
    shape = _channel_shape(x)
    inv_std = 1.0 / np.sqrt(np.asarray(running_var).reshape(shape) + eps)
    xhat = (x - np.asarray(running_mean).reshape(shape)) * inv_std
    return gamma.reshape(shape) * xhat + beta.reshape(shape), (xhat, inv_std, gamma)


def batchnorm_eval_backward(dout: np.ndarray, cache):
    """``(dx, dgamma, dbeta)`` of the inference-mode layer: the statistics are constants."""
    xhat, inv_std, gamma = cache
    axes = (0,) + tuple(range(2, dout.ndim))
    return dout * gamma.reshape(_channel_shape(dout)) * inv_std, (dout * xhat).sum(axis=axes), dout.sum(axis=axes)


def update_running_stats(running_mean: np.ndarray, running_var: np.ndarray, batch_mean: np.ndarray,
                         batch_var: np.ndarray, n: int, momentum: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's rule: ``r ← (1 − momentum)·r + momentum·batch statistic``.

    ``batch_var`` is the biased variance used to normalise; the running variance stores the
    *unbiased* one, ``batch_var · n / (n − 1)`` (``n`` values per channel). Note that PyTorch's
    ``momentum`` is the weight of the *new* value (0.1), the opposite of an EWMA's β (0.9).
    """
    if n < 2:
        raise ValueError(f"need at least 2 values per channel for an unbiased variance, got n={n}")
    new_mean = (1 - momentum) * running_mean + momentum * batch_mean
    new_var = (1 - momentum) * running_var + momentum * batch_var * n / (n - 1)
    return new_mean, new_var


class BatchNorm:
    """Batch norm with state, like ``torch.nn.BatchNorm1d`` / ``BatchNorm2d``.

    ``layer.train()`` (the default): ``forward`` normalises with the batch's statistics and
    updates the running averages; ``layer.eval()``: it uses the running averages.
    ``backward(dout)`` returns ``dx`` and stores ``dgamma`` and ``dbeta``.
    """

    def __init__(self, channels: int, momentum: float = 0.1, eps: float = EPS):
        self.gamma, self.beta = np.ones(channels), np.zeros(channels)
        self.running_mean, self.running_var = np.zeros(channels), np.ones(channels)
        self.momentum, self.eps, self.training = momentum, eps, True
        self.dgamma = self.dbeta = None
        self._cache = None

    def train(self) -> BatchNorm:
        self.training = True
        return self

    def eval(self) -> BatchNorm:
        self.training = False
        return self

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training:
            out, cache = batchnorm_eval_forward(x, self.gamma, self.beta, self.running_mean, self.running_var, self.eps)
            self._cache = ("eval", cache)
            return out
        out, cache = batchnorm_forward(x, self.gamma, self.beta, self.eps)
        self.running_mean, self.running_var = update_running_stats(
            self.running_mean, self.running_var, cache["mean"], cache["var"], cache["n"], self.momentum)
        self._cache = ("train", cache)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self._cache is None:
            raise RuntimeError("call forward before backward")
        mode, cache = self._cache
        dx, self.dgamma, self.dbeta = (batchnorm_backward if mode == "train" else batchnorm_eval_backward)(dout, cache)
        return dx


# ------------------------------------------------------- layer, group, instance
def layernorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = EPS):
    """Layer norm (Ba, Kiros & Hinton, 2016): each example standardised over all its features.

    ``gamma`` and ``beta`` have shape ``x.shape[1:]`` (one per feature), as
    ``F.layer_norm(x, x.shape[1:], gamma, beta)``. Nothing depends on the batch.
    """
    if x.ndim < 2 or gamma.shape != x.shape[1:] or beta.shape != x.shape[1:]:
        raise ValueError(f"layernorm_forward: gamma {gamma.shape} and beta {beta.shape} must have shape {x.shape[1:]}")
    axes = tuple(range(1, x.ndim))
    xhat, inv_std, _, _ = _normalize(x, axes, eps)
    return gamma * xhat + beta, (xhat, inv_std, gamma, axes)


def layernorm_backward(dout: np.ndarray, cache):
    """``(dx, dgamma, dbeta)``; ``dgamma`` and ``dbeta`` sum over the batch."""
    xhat, inv_std, gamma, axes = cache
    return _normalize_backward(dout * gamma, xhat, inv_std, axes), (dout * xhat).sum(axis=0), dout.sum(axis=0)


def groupnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, groups: int, eps: float = EPS):
    """Group norm (Wu & He, 2018): per example, channels split into ``groups`` groups, each
    standardised over its channels and spatial positions; then a per-channel ``γ``, ``β``."""
    _check_channel_params(x, gamma, beta, "groupnorm_forward")
    n, c = x.shape[:2]
    if groups < 1 or c % groups:
        raise ValueError(f"groupnorm_forward: {c} channels do not split into {groups} equal groups")
    xg = x.reshape(n, groups, c // groups, *x.shape[2:])
    axes = tuple(range(2, xg.ndim))
    xhat_g, inv_std, _, _ = _normalize(xg, axes, eps)
    xhat = xhat_g.reshape(x.shape)
    shape = _channel_shape(x)
    return gamma.reshape(shape) * xhat + beta.reshape(shape), (xhat_g, inv_std, gamma, axes)


def groupnorm_backward(dout: np.ndarray, cache):
    """``(dx, dgamma, dbeta)``."""
    xhat_g, inv_std, gamma, axes = cache
    shape = _channel_shape(dout)
    dxhat = (dout * gamma.reshape(shape)).reshape(xhat_g.shape)
    dx = _normalize_backward(dxhat, xhat_g, inv_std, axes).reshape(dout.shape)
    sum_axes = (0,) + tuple(range(2, dout.ndim))
    return dx, (dout * xhat_g.reshape(dout.shape)).sum(axis=sum_axes), dout.sum(axis=sum_axes)


def instancenorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = EPS):
    """Instance norm (Ulyanov, Vedaldi & Lempitsky, 2016): group norm with one channel per group,
    so each example's each channel is standardised over its spatial positions."""
    if x.ndim < 3:
        raise ValueError(f"instancenorm_forward: needs spatial axes, x of shape (n, C, L) or (n, C, H, W); got {x.shape}")
    return groupnorm_forward(x, gamma, beta, groups=x.shape[1], eps=eps)


def instancenorm_backward(dout: np.ndarray, cache):
    """``(dx, dgamma, dbeta)``, as group norm's."""
    return groupnorm_backward(dout, cache)
