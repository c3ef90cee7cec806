"""course_utils.scratch.hyperparameter_search: grids, random points, the stand-in objective."""
import numpy as np
import pytest

from course_utils.scratch import hyperparameter_search as hps


def test_grid_points_are_cell_centres_and_cover_each_axis_k_times():
    g = hps.grid_points(16)
    assert g.shape == (16, 2) and np.allclose(np.unique(g[:, 0]), [0.125, 0.375, 0.625, 0.875])
    assert all(np.sum(g[:, 0] == v) == 4 for v in np.unique(g[:, 0]))
    assert hps.grid_points(27, d=3).shape == (27, 3)
    with pytest.raises(ValueError, match="2-th power"):
        hps.grid_points(10)


def test_random_points_are_uniform_in_the_cube():
    r = hps.random_points(20_000, 3, np.random.default_rng(0))
    assert r.min() >= 0 and r.max() <= 1 and np.allclose(r.mean(0), 0.5, atol=0.01)
    with pytest.raises(ValueError, match="budget"):
        hps.random_points(0, 2, np.random.default_rng(0))


def test_bumps_and_best_found():
    opt = np.array([0.3, 0.7])
    assert hps.bumps(opt, opt, (1.0, 1.0)) == 0.0
    far = hps.bumps(np.array([[0.3, 0.0]]), opt, (1.0, 0.05))
    assert far[0] == pytest.approx(0.05 * (1 - np.exp(-0.49 / 0.02)))  # only the unimportant axis is off
    pts = np.array([[0.3, 0.0], [0.9, 0.7]])
    assert hps.best_found(lambda U: hps.bumps(U, opt, (1.0, 0.05)), pts) == pytest.approx(far[0])
    with pytest.raises(ValueError, match="must agree"):
        hps.bumps(np.zeros((2, 3)), opt, (1.0, 1.0))


def test_on_one_important_axis_the_grid_can_miss_what_random_search_finds():
    # the optimum of the important axis halfway between two grid columns: 0.25
    objective = lambda U: hps.bumps(U, (0.25, 0.5), (1.0, 0.05))  # noqa: E731
    grid = hps.best_found(objective, hps.grid_points(16))
    assert grid == pytest.approx(1.05 * (1 - np.exp(-0.125 ** 2 / 0.02)), rel=1e-6)  # 0.125 off on both axes
    wins = np.mean([hps.best_found(objective, hps.random_points(16, 2, np.random.default_rng(s))) < grid
                    for s in range(200)])
    assert wins > 0.5
