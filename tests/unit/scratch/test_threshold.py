"""course_utils.scratch.threshold (chapters 02 and 05): gates, the XOR network, Boolean circuits.

Truth tables are compared with ones written out by hand or with the Boolean
function itself on every input; there is no torch twin of a hard threshold.
"""
from __future__ import annotations

import numpy as np
import pytest

from course_utils.scratch import threshold as T


# ------------------------------------------------------------------- gates
@pytest.mark.parametrize("name", ["AND", "OR", "NAND", "NOT"])
def test_gates_truth_tables(name):
    w, b = T.GATES[name]
    X, out = T.truth_table(T.threshold_unit(w, b), len(w))
    assert out.tolist() == T.BOOLEAN[name](X).tolist()


def test_expected_truth_tables_by_hand():
    X = T.binary_inputs(2)
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert T.truth_table(T.threshold_unit(*T.GATES["AND"]), 2)[1].tolist() == [0, 0, 0, 1]
    assert T.truth_table(T.threshold_unit(*T.GATES["OR"]), 2)[1].tolist() == [0, 1, 1, 1]
    assert T.truth_table(T.threshold_unit(*T.GATES["NAND"]), 2)[1].tolist() == [1, 1, 1, 0]
    assert T.truth_table(T.threshold_unit(*T.GATES["NOT"]), 1)[1].tolist() == [1, 0]
    assert T.truth_table(T.xor_network, 2)[1].tolist() == [0, 1, 1, 0]


def test_no_single_threshold_unit_computes_xor():
    rng = np.random.default_rng(0)
    X = T.binary_inputs(2)
    target = T.BOOLEAN["XOR"](X)
    params = rng.uniform(-3, 3, (20000, 3))
    outs = (X @ params[:, :2].T + params[:, 2] > 0).astype(int).T
    assert not np.any(np.all(outs == target, axis=1))


def test_threshold_unit_checks_its_input_shape():
    with pytest.raises(ValueError):
        T.threshold_unit([1.0, 1.0], -1.5)(np.array([[1.0, 0.0, 1.0]]))


# ------------------------------------------------------------ Boolean circuits
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_dnf_network_computes_any_truth_table(n):
    rng = np.random.default_rng(n)
    for _ in range(5):
        truth = T.random_truth_table(n, rng)
        net = T.dnf_network(truth)
        assert net["W1"].shape == (truth.sum(), n)
        out, h = T.two_layer_threshold(T.binary_inputs(n), **net)
        np.testing.assert_array_equal(out, truth)
        assert np.all(h.sum(axis=1) <= 1)            # at most one term fires: each unit matches one row


def test_dnf_network_constant_functions_and_errors():
    for const in (0, 1):
        truth = np.full(8, const)
        out, _ = T.two_layer_threshold(T.binary_inputs(3), **T.dnf_network(truth))
        np.testing.assert_array_equal(out, truth)
    with pytest.raises(ValueError, match="2\\*\\*N"):
        T.dnf_network(np.ones(6))
    with pytest.raises(ValueError, match="0/1"):
        T.dnf_network(np.array([0, 2, 1, 0]))


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_parity_chain(n):
    X = T.binary_inputs(n)
    parity, units = T.parity_chain(X)
    np.testing.assert_array_equal(parity, X.sum(axis=1) % 2)
    assert units == 3 * (n - 1)
    assert T.dnf_network(parity)["W1"].shape[0] == 2 ** (n - 1)   # the DNF recipe's worst case
    counting = T.parity_counting_network(n)
    assert counting["W1"].shape == (n, n)
    np.testing.assert_array_equal(T.two_layer_threshold(X, **counting)[0], parity)
