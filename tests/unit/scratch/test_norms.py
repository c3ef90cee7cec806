"""course_utils.scratch.norms: every normalisation layer against finite differences and its PyTorch twin
(one ``LayerCase`` row each), and batch norm's running statistics against ``nn.BatchNorm1d/2d``."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from layer_harness import LayerCase, assert_forward_backward_match, run_layer_case

from course_utils.scratch import norms


def _params(rng, c):
    return rng.normal(1.0, 0.5, size=c), rng.normal(size=c)


def _bn1d(rng):
    n, c = int(rng.integers(2, 8)), int(rng.integers(1, 6))
    g, b = _params(rng, c)
    return {"x": rng.normal(2.0, 3.0, size=(n, c)), "gamma": g, "beta": b}


def _bn2d(rng):
    n, c, h, w = (int(v) for v in rng.integers(1, 5, size=4))
    g, b = _params(rng, c)
    return {"x": rng.normal(-1.0, 2.0, size=(n, c, h + 1, w)), "gamma": g, "beta": b}


def _bn_eval(rng, spatial):
    arrays = _bn2d(rng) if spatial else _bn1d(rng)
    c = len(arrays["gamma"])
    return arrays, {"running_mean": rng.normal(size=c), "running_var": rng.uniform(0.5, 2.0, size=c)}


def _ln(rng, spatial):
    n = int(rng.integers(1, 6))
    shape = (n, *(int(v) for v in rng.integers(2, 5, size=3 if spatial else 1)))
    return {"x": rng.normal(1.0, 2.0, size=shape), "gamma": rng.normal(1.0, 0.5, size=shape[1:]),
            "beta": rng.normal(size=shape[1:])}


def _gn(rng):
    n, groups, per, h = (int(v) for v in rng.integers(1, 4, size=4))
    c = groups * per
    g, b = _params(rng, c)
    return {"x": rng.normal(0.5, 2.0, size=(n, c, h + 1, 3)), "gamma": g, "beta": b}, {"groups": groups}


def _in(rng):
    n, c, length = int(rng.integers(1, 4)), int(rng.integers(1, 5)), int(rng.integers(2, 7))
    g, b = _params(rng, c)
    return {"x": rng.normal(size=(n, c, length)), "gamma": g, "beta": b}


def _t(a):
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


NORMS = [
    LayerCase("batchnorm_1d", norms.batchnorm_forward, norms.batchnorm_backward,
              lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True, eps=norms.EPS), _bn1d),
    LayerCase("batchnorm_2d", norms.batchnorm_forward, norms.batchnorm_backward,
              lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True, eps=norms.EPS), _bn2d),
    LayerCase("batchnorm_eval_1d", norms.batchnorm_eval_forward, norms.batchnorm_eval_backward,
              lambda x, g, b, running_mean, running_var: F.batch_norm(
                  x, _t(running_mean), _t(running_var), g, b, training=False, eps=norms.EPS),
              lambda rng: _bn_eval(rng, False)),
    LayerCase("batchnorm_eval_2d", norms.batchnorm_eval_forward, norms.batchnorm_eval_backward,
              lambda x, g, b, running_mean, running_var: F.batch_norm(
                  x, _t(running_mean), _t(running_var), g, b, training=False, eps=norms.EPS),
              lambda rng: _bn_eval(rng, True)),
    LayerCase("layernorm_1d", norms.layernorm_forward, norms.layernorm_backward,
              lambda x, g, b: F.layer_norm(x, x.shape[1:], g, b, eps=norms.EPS), lambda rng: _ln(rng, False)),
    LayerCase("layernorm_3d", norms.layernorm_forward, norms.layernorm_backward,
              lambda x, g, b: F.layer_norm(x, x.shape[1:], g, b, eps=norms.EPS), lambda rng: _ln(rng, True)),
    LayerCase("groupnorm", norms.groupnorm_forward, norms.groupnorm_backward,
              lambda x, g, b, groups: F.group_norm(x, groups, g, b, eps=norms.EPS), _gn),
    LayerCase("instancenorm", norms.instancenorm_forward, norms.instancenorm_backward,
              lambda x, g, b: F.instance_norm(x, weight=g, bias=b, eps=norms.EPS), _in),
]


@pytest.mark.parametrize("case", NORMS, ids=lambda c: c.name)
@pytest.mark.parametrize("seed", range(3))
def test_norm_matches_torch_and_finite_differences(case, seed):
    run_layer_case(case, np.random.default_rng(seed))


def test_every_norm_of_the_module_is_in_the_table():
    forwards = {name[: -len("_forward")] for name in dir(norms) if name.endswith("_forward")}
    tested = {c.forward.__name__[: -len("_forward")] for c in NORMS}
    assert forwards == tested, f"layers without a row in NORMS: {sorted(forwards - tested)}"


def test_the_harness_catches_batchnorm_without_the_mean_terms():
    def naive_backward(dout, cache):  # treats μ and σ² as constants: right in eval mode, wrong in training
        dx, dg, db = norms.batchnorm_backward(dout, cache)
        return dout * cache["gamma"] * cache["inv_std"], dg, db

    wrong = LayerCase("bn_naive", norms.batchnorm_forward, naive_backward,
                      lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True, eps=norms.EPS), _bn1d)
    with pytest.raises(AssertionError, match="gradient for x"):
        assert_forward_backward_match(wrong, np.random.default_rng(0))


@pytest.mark.parametrize("spatial", [False, True])
def test_batchnorm_layer_equals_torch_in_train_and_eval_mode(spatial):
    rng = np.random.default_rng(0)
    c = 4
    ours = norms.BatchNorm(c, momentum=0.1)
    ours.gamma, ours.beta = _params(rng, c)
    twin = (torch.nn.BatchNorm2d if spatial else torch.nn.BatchNorm1d)(c, momentum=0.1, dtype=torch.float64)
    with torch.no_grad():
        twin.weight.copy_(_t(ours.gamma))
        twin.bias.copy_(_t(ours.beta))
    shape = (6, c, 3, 2) if spatial else (6, c)
    for step in range(5):  # training batches with drifting statistics
        x = rng.normal(step, 1 + step, size=shape)
        dout = rng.normal(size=shape)
        out = ours.forward(x)
        xt = _t(x).requires_grad_(True)
        out_t = twin(xt)
        np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
        twin.zero_grad()
        out_t.backward(_t(dout))
        np.testing.assert_allclose(ours.backward(dout), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ours.dgamma, twin.weight.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ours.dbeta, twin.bias.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.running_mean, twin.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.running_var, twin.running_var.numpy(), rtol=1e-12)
    ours.eval()
    twin.eval()
    x = rng.normal(size=(1,) + shape[1:])  # a single example is fine at inference
    np.testing.assert_allclose(ours.forward(x), twin(_t(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_running_variance_is_unbiased_and_momentum_weights_the_new_batch():
    m, v = norms.update_running_stats(np.zeros(1), np.ones(1), np.array([2.0]), np.array([3.0]), n=4, momentum=0.1)
    assert m[0] == pytest.approx(0.2) and v[0] == pytest.approx(0.9 + 0.1 * 3.0 * 4 / 3)


def test_eval_mode_does_not_depend_on_the_rest_of_the_batch():
    rng = np.random.default_rng(1)
    bn = norms.BatchNorm(3)
    for _ in range(3):
        bn.forward(rng.normal(size=(8, 3)))
    x = rng.normal(size=(5, 3))
    train_a, train_b = norms.batchnorm_forward(x, bn.gamma, bn.beta)[0], norms.batchnorm_forward(x[:2], bn.gamma, bn.beta)[0]
    assert not np.allclose(train_a[:2], train_b)  # training mode: the other examples matter
    bn.eval()
    np.testing.assert_allclose(bn.forward(x)[:2], bn.forward(x[:2]))


def test_norm_errors_say_what_to_change():
    with pytest.raises(ValueError, match="at least 2"):
        norms.batchnorm_forward(np.ones((1, 3)), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="one per channel"):
        norms.batchnorm_forward(np.ones((4, 3)), np.ones(2), np.zeros(2))
    with pytest.raises(ValueError, match="equal groups"):
        norms.groupnorm_forward(np.ones((2, 6, 2)), np.ones(6), np.zeros(6), groups=4)
    with pytest.raises(ValueError, match="spatial"):
        norms.instancenorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="must have shape"):
        norms.layernorm_forward(np.ones((2, 3)), np.ones(2), np.zeros(3))
    with pytest.raises(RuntimeError, match="forward before backward"):
        norms.BatchNorm(2).backward(np.ones((2, 2)))
