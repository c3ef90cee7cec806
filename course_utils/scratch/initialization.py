"""Weight initialisation, and what it does to the signal in a deep network.

Contract:

- Every initialiser is ``<scheme>(fan_in, fan_out, rng, ...) -> W`` with ``W`` of shape
  ``(fan_in, fan_out)``, the layout of ``layers.affine_forward`` (``x @ W``). PyTorch's
  ``nn.Linear`` stores the transpose, ``(out, in)``; the distributions are the same.
- ``rng`` is a ``np.random.Generator``; nothing reads a global seed.
- The variances are those of ``torch.nn.init``'s counterparts (checked statistically in
  ``tests/unit/scratch/test_initialization.py``):

  ============================  ==========================================  ==============================
  scheme                        distribution of each entry                  torch.nn.init
  ============================  ==========================================  ==============================
  ``zeros``                     0                                           ``zeros_``
  ``normal(std)``               N(0, std²)                                  ``normal_(0, std)``
  ``xavier_uniform(gain)``      U(−a, a), a = gain·√(6/(fan_in+fan_out))    ``xavier_uniform_(gain)``
  ``xavier_normal(gain)``       N(0, gain²·2/(fan_in+fan_out))              ``xavier_normal_(gain)``
  ``kaiming_uniform(gain)``     U(−a, a), a = gain·√(3/fan_in)              ``kaiming_uniform_`` (fan_in)
  ``kaiming_normal(gain)``      N(0, gain²/fan_in)                          ``kaiming_normal_`` (fan_in)
  ============================  ==========================================  ==============================

  Glorot & Bengio (2010) proposed the first pair, He et al. (2015) the second; ``gain``
  is ``calculate_gain(activation)`` (√2 for ReLU, 5/3 for tanh, as in PyTorch).
- ``propagate(x, weights, activation)`` sends a batch forward through a deep MLP made of
  ``layers.affine_forward`` and an activation, then a random upstream gradient back, and
  returns every layer's activations and weight gradients (a ``PropagationResult``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .layers import activation as activation_pair
from .layers import affine_backward, affine_forward

_GAINS = {"linear": 1.0, "identity": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": float(np.sqrt(2.0))}


def calculate_gain(nonlinearity: str) -> float:
    """PyTorch's recommended gain for an activation: ``relu`` √2, ``tanh`` 5/3, ``linear``/``sigmoid`` 1."""
    if nonlinearity not in _GAINS:
        raise ValueError(f"no gain for {nonlinearity!r}; choose one of {sorted(_GAINS)}")
    return _GAINS[nonlinearity]


def _check_fans(fan_in: int, fan_out: int) -> None:
    if int(fan_in) < 1 or int(fan_out) < 1:
        raise ValueError(f"fan_in and fan_out must be >= 1, got {fan_in} and {fan_out}")


def zeros(fan_in: int, fan_out: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """All weights 0 (``rng`` unused): every hidden unit computes the same thing."""
    _check_fans(fan_in, fan_out)
    return np.zeros((fan_in, fan_out))


def normal(fan_in: int, fan_out: int, rng: np.random.Generator, std: float = 0.01) -> np.ndarray:
    """Entries N(0, std²), whatever the layer's size (the "small" 0.01 and "large" 1.0 inits)."""
    _check_fans(fan_in, fan_out)
    return rng.normal(0.0, std, size=(fan_in, fan_out))


def xavier_uniform(fan_in: int, fan_out: int, rng: np.random.Generator, gain: float = 1.0) -> np.ndarray:
    """Glorot/Xavier uniform: U(−a, a) with ``a = gain·√(6/(fan_in + fan_out))``, so Var = gain²·2/(fan_in + fan_out)."""
    _check_fans(fan_in, fan_out)
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def xavier_normal(fan_in: int, fan_out: int, rng: np.random.Generator, gain: float = 1.0) -> np.ndarray:
    """Glorot/Xavier normal: N(0, gain²·2/(fan_in + fan_out))."""
    _check_fans(fan_in, fan_out)
    return rng.normal(0.0, gain * np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))


def kaiming_uniform(fan_in: int, fan_out: int, rng: np.random.Generator, gain: float = float(np.sqrt(2.0))) -> np.ndarray:
    """Kaiming/He uniform (fan-in mode): U(−a, a) with ``a = gain·√(3/fan_in)``, so Var = gain²/fan_in."""
    _check_fans(fan_in, fan_out)
    a = gain * np.sqrt(3.0 / fan_in)
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def kaiming_normal(fan_in: int, fan_out: int, rng: np.random.Generator, gain: float = float(np.sqrt(2.0))) -> np.ndarray:
    """Kaiming/He normal (fan-in mode): N(0, gain²/fan_in); the default gain √2 is for ReLU."""
    _check_fans(fan_in, fan_out)
    return rng.normal(0.0, gain / np.sqrt(fan_in), size=(fan_in, fan_out))


#: the schemes the chapter compares, by name: ``name -> (fan_in, fan_out, rng) -> W``.
#: "xavier" is Glorot & Bengio's (gain 1); "xavier_tanh" adds PyTorch's gain for tanh (5/3);
#: "kaiming" is He et al.'s for ReLU (gain √2).
SCHEMES: dict[str, Callable[[int, int, np.random.Generator], np.ndarray]] = {
    "zero": lambda fi, fo, rng: zeros(fi, fo),
    "small": lambda fi, fo, rng: normal(fi, fo, rng, std=0.01),
    "large": lambda fi, fo, rng: normal(fi, fo, rng, std=1.0),
    "xavier": lambda fi, fo, rng: xavier_normal(fi, fo, rng, gain=1.0),
    "xavier_tanh": lambda fi, fo, rng: xavier_normal(fi, fo, rng, gain=calculate_gain("tanh")),
    "kaiming": lambda fi, fo, rng: kaiming_normal(fi, fo, rng, gain=calculate_gain("relu")),
}


def init_weights(scheme: str, sizes: Sequence[int], rng: np.random.Generator) -> list[np.ndarray]:
    """Weights of an MLP with layer widths ``sizes`` (``[d, h, …, h]``), one matrix per layer, by scheme name."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown initialisation {scheme!r}; choose one of {list(SCHEMES)}")
    return [SCHEMES[scheme](fi, fo, rng) for fi, fo in zip(sizes[:-1], sizes[1:])]


@dataclass
class PropagationResult:
    """Per layer ``l = 1 … L``: ``activations[l-1]`` is ``h_l = f(h_{l-1} W_l)`` (n, width),
    ``grads[l-1]`` is ``∂L/∂W_l`` for the random upstream gradient."""

    activations: list[np.ndarray]
    grads: list[np.ndarray]

    def activation_variances(self) -> np.ndarray:
        """Variance of each layer's activations over the batch and the units."""
        return np.array([float(np.var(h)) for h in self.activations])

    def grad_variances(self) -> np.ndarray:
        """Variance of each layer's weight-gradient entries."""
        return np.array([float(np.var(g)) for g in self.grads])


def propagate(x: np.ndarray, weights: Sequence[np.ndarray], activation: str, rng: np.random.Generator) -> PropagationResult:
    """Forward ``x`` through ``h_l = f(h_{l-1} W_l)`` (no biases), then back a standard-normal ``∂L/∂h_L``.

    Every layer, the last included, applies the activation ``f``, so all layers are alike
    and depth is the only thing that changes along the network.
    """
    forward, backward = activation_pair(activation)
    h, caches, acts = x, [], []
    for W in weights:
        z, aff_cache = affine_forward(h, W, np.zeros(W.shape[1]))
        h, act_cache = forward(z)
        caches.append((aff_cache, act_cache))
        acts.append(h)
    dh, grads = rng.standard_normal(h.shape), []
    for aff_cache, act_cache in reversed(caches):
        dz = backward(dh, act_cache)
        dh, dW, _ = affine_backward(dz, aff_cache)
        grads.append(dW)
    return PropagationResult(activations=acts, grads=grads[::-1])
