"""course_utils.scratch.autoencoders: the linear autoencoder against torch and PCA, the transposed convolution
(a layer: finite differences and its torch twin), the convolutional autoencoder and its training loop."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from layer_harness import LayerCase, run_layer_case

from course_utils.scratch import autoencoders as A
from course_utils.scratch import pca


# ---------------------------------------------------------- linear autoencoder
@pytest.mark.parametrize("seed", range(3))
def test_linear_autoencoder_loss_and_gradients_match_torch(seed):
    rng = np.random.default_rng(seed)
    n, d, k = (int(v) for v in rng.integers(2, 9, size=3))
    k = min(k, d)
    X = rng.normal(size=(n, d))
    params = A.init_linear_autoencoder(d, k, rng, scale=0.5)
    loss, grads = A.linear_autoencoder_loss(X, params)
    t = {name: torch.tensor(p, requires_grad=True) for name, p in params.items()}
    X_hat = (torch.tensor(X) @ t["W_enc"] + t["b_enc"]) @ t["W_dec"] + t["b_dec"]
    t_loss = F.mse_loss(X_hat, torch.tensor(X))
    t_loss.backward()
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    for name in A.PARAM_NAMES:
        np.testing.assert_allclose(grads[name], t[name].grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=name)
    np.testing.assert_allclose(A.linear_autoencoder_reconstruct(X, params), X_hat.detach().numpy(), rtol=1e-12)


def _low_rank_data(rng, n=200, d=8, gaps=(5.0, 3.0, 0.3)):
    """Data with variances 25, 9 and then small ones: a clear gap after the second component."""
    scales = np.array([gaps[0], gaps[1]] + [gaps[2]] * (d - 2))
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return (rng.normal(size=(n, d)) * scales) @ Q.T + rng.normal(size=d)


def test_trained_linear_autoencoder_spans_the_pca_subspace_and_reaches_its_error():
    rng = np.random.default_rng(1)
    X = _low_rank_data(rng)
    result = A.train_linear_autoencoder(X, 2, np.random.default_rng(0), steps=1500, lr=0.05, show_progress=False)
    model = pca.pca(X, 2)
    angles = pca.principal_angles(result.params["W_dec"].T, model.components.T)
    assert np.max(angles) < 1e-3 and not result.diverged
    pca_mse = np.mean((pca.reconstruct(model, pca.project(model, X)) - X) ** 2)
    assert result.losses[-1] == pytest.approx(pca_mse, rel=1e-5)
    assert result.losses[0] > 10 * result.losses[-1]
    # the untrained start is far from it
    start = A.init_linear_autoencoder(X.shape[1], 2, np.random.default_rng(0))
    assert np.max(pca.principal_angles(start["W_dec"].T, model.components.T)) > 0.5


def test_training_reports_divergence_and_leaves_the_given_params_alone():
    rng = np.random.default_rng(2)
    X = _low_rank_data(rng)
    params = A.init_linear_autoencoder(X.shape[1], 2, rng)
    before = {k: v.copy() for k, v in params.items()}
    result = A.train_linear_autoencoder(X, 2, rng, steps=200, lr=50.0, params=params, show_progress=False)
    assert result.diverged and "diverged" in result.message and len(result.losses) < 200
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
    with pytest.raises(ValueError, match="code size"):
        A.init_linear_autoencoder(4, 5, rng)


# ------------------------------------------------------ transposed convolution
def _transposed(stride, padding):
    def make(rng):
        n, c_in, c_out = (int(v) for v in rng.integers(1, 4, size=3))
        H, W, f = int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(max(2, 2 * padding + 1), 5))
        return ({"x": rng.normal(size=(n, c_in, H, W)), "w": rng.normal(size=(c_in, c_out, f, f)),
                 "b": rng.normal(size=c_out)}, {"stride": stride, "padding": padding})
    return make


LAYERS = [LayerCase(f"conv_transpose2d_s{s}_p{p}", A.conv_transpose2d_forward, A.conv_transpose2d_backward,
                    lambda x, w, b, stride, padding: F.conv_transpose2d(x, w, b, stride=stride, padding=padding),
                    _transposed(s, p))
          for s, p in [(1, 0), (2, 0), (2, 1), (3, 1)]]


@pytest.mark.parametrize("case", LAYERS, ids=lambda c: c.name)
@pytest.mark.parametrize("seed", range(3))
def test_transposed_convolution_layer(case, seed):
    run_layer_case(case, np.random.default_rng(seed))


@pytest.mark.parametrize("n,f,s,p", [(2, 4, 2, 1), (4, 4, 2, 1), (3, 3, 2, 0), (5, 3, 1, 1), (4, 2, 3, 0)])
def test_transposed_output_size_matches_torch(n, f, s, p):
    out = F.conv_transpose2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, f, f), stride=s, padding=p)
    assert out.shape[-1] == A.transposed_output_size(n, f, s, p)


def test_transposed_convolution_is_the_adjoint_of_convolution():
    rng = np.random.default_rng(3)
    x, w, y = rng.normal(size=(2, 3, 4, 4)), rng.normal(size=(3, 2, 4, 4)), rng.normal(size=(2, 2, 8, 8))
    up, _ = A.conv_transpose2d_forward(x, w, np.zeros(2), stride=2, padding=1)
    down = F.conv2d(torch.tensor(y), torch.tensor(w), stride=2, padding=1).numpy()
    assert np.sum(up * y) == pytest.approx(np.sum(x * down), rel=1e-12)


def test_transposed_convolution_errors():
    x = np.zeros((1, 2, 3, 3))
    with pytest.raises(ValueError, match="C_in=2"):
        A.conv_transpose2d_forward(x, np.zeros((3, 1, 2, 2)), np.zeros(1))
    with pytest.raises(ValueError, match="b must have shape"):
        A.conv_transpose2d_forward(x, np.zeros((2, 1, 2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="crops away"):
        A.conv_transpose2d_forward(np.zeros((1, 1, 1, 1)), np.zeros((1, 1, 2, 2)), np.zeros(1), padding=1)


# ------------------------------------------------- convolutional autoencoders
def test_conv_autoencoder_shapes_range_and_seeding():
    m1, m2 = A.build_conv_autoencoder(8, seed=3), A.build_conv_autoencoder(8, seed=3)
    x = torch.rand(5, 1, 8, 8)
    out = m1(x)
    out = out.detach()
    assert out.shape == (5, 1, 8, 8) and float(out.min()) >= 0 and float(out.max()) <= 1
    assert m1.encoder(x).shape == (5, 8)
    torch.testing.assert_close(out, m2(x))
    assert not torch.equal(out, A.build_conv_autoencoder(8, seed=4)(x))


def test_add_noise_is_exactly_gaussian():
    X = np.zeros((200, 64))
    noisy = A.add_noise(X, 0.5, np.random.default_rng(5))
    assert noisy.std() == pytest.approx(0.5, rel=0.02) and abs(noisy.mean()) < 0.01
    assert noisy.min() < 0  # not clipped
