"""course_utils.scratch.initialization: each scheme has the variance (and the distribution) of
its torch.nn.init counterpart, tested statistically; signal propagation against torch autograd."""
import numpy as np
import pytest
import torch
from scipy import stats

from course_utils.scratch import initialization as ini

FAN_IN, FAN_OUT = 300, 200  # unequal, so that a mix-up of fan_in and fan_out shows


def _torch_sample(init_, **kwargs) -> np.ndarray:
    torch.manual_seed(0)
    w = torch.empty(FAN_OUT, FAN_IN, dtype=torch.float64)  # nn.Linear's (out, in) layout
    init_(w, **kwargs)
    return w.numpy().T


#: name -> (ours(rng), torch twin sample, exact variance)
CASES = {
    "xavier_uniform": (lambda rng: ini.xavier_uniform(FAN_IN, FAN_OUT, rng, gain=1.3),
                       lambda: _torch_sample(torch.nn.init.xavier_uniform_, gain=1.3), 1.3 ** 2 * 2 / (FAN_IN + FAN_OUT)),
    "xavier_normal": (lambda rng: ini.xavier_normal(FAN_IN, FAN_OUT, rng, gain=5 / 3),
                      lambda: _torch_sample(torch.nn.init.xavier_normal_, gain=5 / 3), (5 / 3) ** 2 * 2 / (FAN_IN + FAN_OUT)),
    "kaiming_uniform": (lambda rng: ini.kaiming_uniform(FAN_IN, FAN_OUT, rng),
                        lambda: _torch_sample(torch.nn.init.kaiming_uniform_, nonlinearity="relu"), 2 / FAN_IN),
    "kaiming_normal": (lambda rng: ini.kaiming_normal(FAN_IN, FAN_OUT, rng),
                       lambda: _torch_sample(torch.nn.init.kaiming_normal_, nonlinearity="relu"), 2 / FAN_IN),
    "normal": (lambda rng: ini.normal(FAN_IN, FAN_OUT, rng, std=0.01),
               lambda: _torch_sample(torch.nn.init.normal_, std=0.01), 1e-4),
}


@pytest.mark.parametrize("name", CASES)
def test_variance_matches_torch_and_the_formula(name):
    ours, theirs, var = CASES[name]
    w, t = ours(np.random.default_rng(1)), theirs()
    assert w.shape == t.shape == (FAN_IN, FAN_OUT)
    # 60,000 entries: the sample variance is within ±2 % of the truth with overwhelming probability
    se = np.sqrt(2.0 / w.size) * (1.0 if "normal" in name else np.sqrt(0.4))
    assert abs(w.var() / var - 1) < 5 * se, (w.var(), var)
    assert abs(t.var() / var - 1) < 5 * se, (t.var(), var)
    assert abs(w.mean()) < 5 * np.sqrt(var / w.size)


@pytest.mark.parametrize("name", CASES)
def test_distribution_matches_torch_two_sample_ks(name):
    ours, theirs, _ = CASES[name]
    w, t = ours(np.random.default_rng(2)).ravel(), theirs().ravel()
    assert stats.ks_2samp(w[:5000], t[:5000]).pvalue > 1e-3


def test_uniform_bounds_are_exact():
    rng = np.random.default_rng(3)
    a = np.sqrt(6 / (FAN_IN + FAN_OUT))
    w = ini.xavier_uniform(FAN_IN, FAN_OUT, rng)
    assert w.max() <= a and w.min() >= -a and w.max() > 0.99 * a
    b = np.sqrt(2) * np.sqrt(3 / FAN_IN)
    w = ini.kaiming_uniform(FAN_IN, FAN_OUT, rng)
    assert w.max() <= b and w.max() > 0.99 * b


def test_the_ks_test_can_tell_a_fan_mix_up():
    # kaiming with fan_out instead of fan_in: variance 2/200 instead of 2/300, which the test must notice
    wrong = np.random.default_rng(4).normal(0, np.sqrt(2 / FAN_OUT), (FAN_IN, FAN_OUT)).ravel()
    theirs = _torch_sample(torch.nn.init.kaiming_normal_, nonlinearity="relu").ravel()
    assert stats.ks_2samp(wrong[:5000], theirs[:5000]).pvalue < 1e-3


def test_gains_match_torch():
    for name in ["relu", "tanh", "sigmoid", "linear"]:
        assert ini.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name), rel=1e-12)
    with pytest.raises(ValueError, match="no gain"):
        ini.calculate_gain("swish")


def test_schemes_and_their_errors():
    rng = np.random.default_rng(5)
    ws = ini.init_weights("kaiming", [10, 20, 5], rng)
    assert [w.shape for w in ws] == [(10, 20), (20, 5)]
    assert np.all(ini.init_weights("zero", [4, 3], rng)[0] == 0)
    with pytest.raises(ValueError, match="unknown initialisation"):
        ini.init_weights("orthogonal", [4, 3], rng)
    with pytest.raises(ValueError, match="fan_in"):
        ini.zeros(0, 3)


@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_propagate_matches_torch_autograd(act):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((7, 5))
    weights = ini.init_weights("xavier_tanh" if act == "tanh" else "kaiming", [5, 6, 6, 4], rng)
    res = ini.propagate(x, weights, act, np.random.default_rng(7))
    dout = np.random.default_rng(7).standard_normal((7, 4))  # the same draw propagate used
    f = torch.tanh if act == "tanh" else torch.relu
    ws = [torch.tensor(w, requires_grad=True) for w in weights]
    h = torch.tensor(x)
    outs = []
    for w in ws:
        h = f(h @ w)
        outs.append(h)
    (h * torch.tensor(dout)).sum().backward()
    for mine, t in zip(res.activations, outs):
        np.testing.assert_allclose(mine, t.detach().numpy(), rtol=1e-12, atol=1e-14)
    for mine, w in zip(res.grads, ws):
        np.testing.assert_allclose(mine, w.grad.numpy(), rtol=1e-10, atol=1e-14)
    assert res.activation_variances().shape == (3,) and res.grad_variances().shape == (3,)
