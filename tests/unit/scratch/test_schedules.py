"""course_utils.scratch.schedules: every schedule equals its torch.optim.lr_scheduler twin; the range test."""
import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as S

from course_utils.scratch import schedules


def _torch_lrs(make_scheduler, lr0: float, steps: int) -> np.ndarray:
    return schedules.torch_rates(make_scheduler, lr0, steps)


def test_torch_rates_reads_the_rate_before_each_step():
    rates = schedules.torch_rates(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5), 1.0, 5)
    np.testing.assert_array_equal(rates, [1.0, 1.0, 0.5, 0.5, 0.25])


#: name -> (ours(lr0, steps), torch scheduler factory(opt, steps))
TWINS = {
    "constant": (lambda lr, n: schedules.constant(lr, n), lambda opt, n: S.LambdaLR(opt, lambda t: 1.0)),
    "inverse": (lambda lr, n: schedules.inverse_time_decay(lr, n, decay=0.1),
                lambda opt, n: S.LambdaLR(opt, lambda t: 1 / (1 + 0.1 * t))),
    "step": (lambda lr, n: schedules.step_decay(lr, n, step_size=7, gamma=0.5),
             lambda opt, n: S.StepLR(opt, step_size=7, gamma=0.5)),
    "exponential": (lambda lr, n: schedules.exponential_decay(lr, n, gamma=0.93),
                    lambda opt, n: S.ExponentialLR(opt, gamma=0.93)),
    "cosine": (lambda lr, n: schedules.cosine_annealing(lr, n, eta_min=1e-3),
               lambda opt, n: S.CosineAnnealingLR(opt, T_max=n, eta_min=1e-3)),
    "cosine_short": (lambda lr, n: schedules.cosine_annealing(lr, n, t_max=n // 2),
                     lambda opt, n: S.CosineAnnealingLR(opt, T_max=n // 2)),
    "warmup": (lambda lr, n: schedules.linear_warmup(lr, n, warmup=9, start_factor=0.1),
               lambda opt, n: S.LinearLR(opt, start_factor=0.1, total_iters=9)),
    "one_cycle": (lambda lr, n: schedules.one_cycle(lr, n),
                  lambda opt, n: S.OneCycleLR(opt, max_lr=0.5, total_steps=n, cycle_momentum=False)),
    "one_cycle_custom": (lambda lr, n: schedules.one_cycle(lr, n, pct_start=0.45, div_factor=10, final_div_factor=100),
                         lambda opt, n: S.OneCycleLR(opt, max_lr=0.5, total_steps=n, pct_start=0.45, div_factor=10,
                                                     final_div_factor=100, cycle_momentum=False)),
}


@pytest.mark.parametrize("name", TWINS)
@pytest.mark.parametrize("steps", [23, 100])
def test_schedule_equals_torch_scheduler(name, steps):
    ours, make = TWINS[name]
    lr0 = 0.5
    np.testing.assert_allclose(ours(lr0, steps), _torch_lrs(lambda opt: make(opt, steps), lr0, steps),
                               rtol=1e-10, atol=1e-15)


def test_every_schedule_is_named_and_dispatched():
    assert set(schedules.SCHEDULES) == {"constant", "step", "inverse", "exponential", "cosine", "warmup", "one_cycle"}
    for name in schedules.SCHEDULES:
        lrs = schedules.schedule(name, 0.1, 50)
        assert lrs.shape == (50,) and np.all(lrs > 0) and lrs.max() <= 0.1 + 1e-15
    with pytest.raises(ValueError, match="unknown schedule"):
        schedules.schedule("triangular", 0.1, 10)


def test_schedule_shapes_of_the_curves():
    cos = schedules.cosine_annealing(1.0, 101, t_max=100)
    assert cos[0] == 1.0 and cos[50] == pytest.approx(0.5) and np.all(np.diff(cos) < 0)
    oc = schedules.one_cycle(1.0, 100)
    assert oc.argmax() == 29 and oc[0] == pytest.approx(1 / 25) and oc[-1] == pytest.approx(1 / 25e4)
    warm = schedules.linear_warmup(1.0, 20, warmup=10, start_factor=0.1)
    assert warm[0] == pytest.approx(0.1) and np.allclose(warm[10:], 1.0) and np.all(np.diff(warm[:11]) > 0)


def test_bad_settings_say_what_to_change():
    with pytest.raises(ValueError, match="positive"):
        schedules.step_decay(-0.1, 10)
    with pytest.raises(ValueError, match="gamma"):
        schedules.exponential_decay(0.1, 10, gamma=1.5)
    with pytest.raises(ValueError, match="steps"):
        schedules.cosine_annealing(0.1, 0)
    with pytest.raises(ValueError, match="no room"):
        schedules.one_cycle(0.1, 2, pct_start=0.3)


def test_range_test_rates_are_geometric():
    lrs = schedules.range_test_lrs(1e-4, 1.0, 5)
    np.testing.assert_allclose(lrs, [1e-4, 1e-3, 1e-2, 1e-1, 1.0])


def test_suggest_lr_finds_the_steepest_descent_of_a_synthetic_curve():
    lrs = schedules.range_test_lrs(1e-5, 10, 200)
    x = np.log10(lrs)
    # flat at 2.3, falls steepest around lr = 1e-2, bottoms out, then blows up past lr = 1
    loss = 2.3 - 2.0 / (1 + np.exp(-(x + 2) * 3)) + np.where(x > 0, 50 * x ** 2, 0.0)
    lr = schedules.suggest_lr(lrs, loss, beta=0.0)
    assert 10 ** -2.2 < lr < 10 ** -1.8
    noisy = loss + np.random.default_rng(0).normal(0, 0.02, loss.shape)
    assert 10 ** -2.6 < schedules.suggest_lr(lrs, noisy) < 10 ** -1.4


def test_suggest_lr_refuses_curves_it_cannot_read():
    lrs = schedules.range_test_lrs(1e-3, 1, 50)
    with pytest.raises(ValueError, match="never decreased"):
        schedules.suggest_lr(lrs, np.linspace(1, 5, 50))
    with pytest.raises(ValueError, match="NaN"):
        schedules.suggest_lr(lrs, np.r_[1.0, 0.9, np.nan, np.ones(47)])
