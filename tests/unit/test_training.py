"""course_utils.training: the loop learns, records history, detects divergence."""
import numpy as np
import pytest
import torch
from torch import nn

from course_utils import data, training
from course_utils.scratch.metrics import accuracy


def blobs_loaders(seed=0):
    X, y = data.make_blobs(300, np.random.default_rng(seed), centers=3, std=0.4)
    s = data.split(X, y, np.random.default_rng(seed), val=0.2, test=0.0)
    return (training.make_loader(s.X_train, s.y_train, 32, seed=seed),
            training.make_loader(s.X_val, s.y_val, 64, shuffle=False))


def test_fit_learns_and_records_history():
    torch.manual_seed(0)
    train, val = blobs_loaders()
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    h = training.fit(model, train, nn.CrossEntropyLoss(), opt, epochs=15, val_loader=val,
                     metrics={"acc": accuracy}, device="cpu", progress=False)
    assert len(h) == 15 and set(h.keys()) == {"train_loss", "train_acc", "val_loss", "val_acc"}
    assert h["train_loss"][-1] < h["train_loss"][0] / 3
    assert h["val_acc"][-1] > 0.95
    assert h.best("val_loss")[1] == min(h["val_loss"])
    assert not h.diverged


def test_fit_is_deterministic_given_seeds():
    def run():
        torch.manual_seed(1)
        train, _ = blobs_loaders(1)
        model = nn.Linear(2, 3)
        h = training.fit(model, train, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                         epochs=3, device="cpu", progress=False)
        return h["train_loss"]
    assert run() == run()


def test_divergence_is_detected_with_a_message():
    torch.manual_seed(0)
    X = np.random.default_rng(0).normal(size=(64, 3)) * 100
    y = X @ np.array([1.0, -2.0, 3.0])
    model = nn.Linear(3, 1)
    h = training.fit(model, training.make_loader(X, y[:, None], 16), nn.MSELoss(),
                     torch.optim.SGD(model.parameters(), lr=10.0), epochs=50, device="cpu", progress=False)
    assert h.diverged and "diverged" in h.message and len(h) < 50


def test_progress_bar_runs():
    train, _ = blobs_loaders()
    model = nn.Linear(2, 3)
    h = training.fit(model, train, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                     epochs=2, device="cpu", progress=True)
    assert len(h) == 2


def test_loader_and_argument_errors():
    with pytest.raises(ValueError, match="rows"):
        training.make_loader(np.ones((3, 2)), np.ones(4))
    with pytest.raises(ValueError, match="epochs"):
        training.fit(nn.Linear(2, 1), None, None, None, epochs=0)
    with pytest.raises(KeyError, match="recorded"):
        training.History()["nope"]


def test_train_steps_learns_records_and_clips():
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    w = torch.tensor([[1.0, -2.0, 0.5]])
    g = torch.Generator().manual_seed(0)

    def batch(step):
        x = torch.randn(32, 3, generator=g)
        return x, x @ w.T
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    h = training.train_steps(model, batch, nn.functional.mse_loss, opt, steps=200, clip=0.5, progress=False)
    assert len(h["train_loss"]) == 200 and h["train_loss"][-1] < 1e-3 * h["train_loss"][0]
    assert max(h["grad_norm"]) > 0.5  # recorded before clipping
    assert h["lr"][0] == 0.1 and not h.diverged


def test_train_steps_reports_divergence():
    model = nn.Linear(2, 1)

    def batch(step):
        x = torch.randn(8, 2) * 1e3
        return x, x.sum(1, keepdim=True)
    h = training.train_steps(model, batch, nn.functional.mse_loss, torch.optim.SGD(model.parameters(), lr=10.0),
                             steps=200, progress=False)
    assert h.diverged and "diverged" in h.message
    with pytest.raises(ValueError, match="steps"):
        training.train_steps(model, batch, nn.functional.mse_loss, torch.optim.SGD(model.parameters(), lr=1.0), 0)
def test_train_steps_with_a_sampler_counts_steps_the_scheduler_and_detects_divergence():
    torch.manual_seed(0)
    X, y = data.make_blobs(200, np.random.default_rng(0), centers=3, std=0.4)
    Xt, yt = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    g = torch.Generator().manual_seed(0)

    def next_batch(step):
        idx = torch.randint(0, len(Xt), (32,), generator=g)
        return Xt[idx], yt[idx]

    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 40)
    h = training.train_steps(model, next_batch, nn.CrossEntropyLoss(), opt, steps=40, scheduler=sched, device="cpu",
                           progress=False)
    assert len(h["train_loss"]) == 40 and np.mean(h["train_loss"][-5:]) < h["train_loss"][0] / 3
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12) and not model.training
    bad = training.train_steps(model, next_batch, lambda out, yb: out.sum() * float("nan"), opt, steps=5,
                             device="cpu", progress=False)
    assert bad.diverged and "step 1" in bad.message
    with pytest.raises(ValueError, match="steps"):
        training.train_steps(model, next_batch, nn.CrossEntropyLoss(), opt, steps=0)
