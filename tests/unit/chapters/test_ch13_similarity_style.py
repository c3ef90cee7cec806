"""course_utils.chapters.ch13_similarity_style: experiments, widget, checks and negative controls."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import Close, assert_checker, assert_ships

from course_utils import checks
from course_utils.chapters import ch13_similarity_style as ch
from course_utils.scratch import similarity as sim
from course_utils.widgets import Slider, figure_texts, interactive_figure


@pytest.fixture(scope="module")
def split():
    return ch.verification_split(seed=1)


# ------------------------------------------------------------ data and batches
def test_split_keeps_unseen_classes_out_of_training(split):
    assert set(np.unique(split.y_train)) == set(ch.SEEN)
    assert set(np.unique(split.y_unseen)) == set(ch.UNSEEN)
    (vi, vj, _), (ti, tj, _) = split.val_pairs, split.test_pairs
    assert not set(vi) & set(ti) and not set(vj) & set(tj)            # validation and test images are disjoint
    assert split.X_train.shape[1:] == (1, 14, 14)


def test_balanced_batches_hold_p_classes_of_k_shifted_images(split):
    next_batch = ch.balanced_batches(split.X_train, split.y_train, classes=7, per_class=4, shift=1, seed=0)
    x, y = next_batch(0)
    assert x.shape == (28, 1, 14, 14) and np.all(np.bincount(y.numpy()) == 4)
    still = ch.balanced_batches(split.X_train, split.y_train, classes=7, per_class=4, shift=0, seed=0)(0)[0]
    assert not torch.equal(x, still) and torch.allclose(x.sum((1, 2, 3)), still.sum((1, 2, 3)), atol=1.5)


# ------------------------------------------------------------ widget
def test_widget_extremes_draw_and_bad_margin_is_explained():
    for margin in (0.0, 1.0):
        texts = " ".join(figure_texts(ch.draw_embedding(margin=margin)))
        assert f"margin {margin:.2f}" in texts and "unseen-pair accuracy" in texts
    assert "a loss of 0 only asks" in " ".join(figure_texts(ch.draw_embedding(margin=0.0)))
    assert "must be >= 0" in " ".join(figure_texts(ch.draw_embedding(margin=-0.1)))
    fig_def = interactive_figure(ch.draw_embedding, margin=Slider(0.0, 1.0, 0.1, value=0.3, static=[0.0, 1.0]))
    assert fig_def.render(margin=1.0)[:4] == b"\x89PNG"
    r = ch.margin_embedding(1.0)
    assert r["seen"].shape == (300, 2) and not r["collapsed"]
    assert ch.margin_embedding(0.0)["collapsed"]                    # margin 0: the loss is 0 at a single point
    assert "collapsed" in " ".join(figure_texts(ch.draw_embedding(margin=0.0)))


def test_the_widgets_embeddings_ship_with_the_course_and_are_what_the_code_trains(monkeypatch, tmp_path):
    """Every slider margin is in the shipped file with this code's version; retrained, margin 0.3's arrays are the
    shipped ones (bit for bit on a machine that rounds like the one that made the file).
    With another version, or settings the file does not hold, the code trains."""
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    assert set(ch.WIDGET_MARGINS) <= set(ch.SLIDER_MARGINS)
    assert_ships(ch.WIDGET_RUNS_FILE, ch.WIDGET_RUNS_SHA256, [f"ch13-margin{m:g}" for m in ch.SLIDER_MARGINS],
                 ch._widget_version(), ("ch13-margin0.3", ch._margin_arrays(0.3)),
                 # another CPU: the 2-D points land elsewhere; loss 0.008 and accuracy 0.027 apart (AMD vs Intel)
                 close={"loss": Close(atol=0.03), "accuracy": Close(atol=0.08), "seen": None, "unseen": None})
    calls = []
    fake = {"loss": np.asarray(0.0), "accuracy": np.asarray(0.5), "collapsed": np.asarray(False)}
    monkeypatch.setattr(ch, "_margin_arrays", lambda margin, *a: calls.append(margin) or dict(fake))
    ch.margin_embedding.cache_clear()
    ch.margin_embedding(0.3)                               # from the file: nothing trained
    ch.margin_embedding(0.35)                              # not a slider margin: trained
    monkeypatch.setattr(ch, "_widget_version", lambda: "other-code")
    ch.margin_embedding.cache_clear()
    ch.margin_embedding(0.3)                               # the file is of another version: trained
    ch.margin_embedding.cache_clear()
    assert calls == [0.35, 0.3]


# ------------------------------------------------------------ exercise checks
def _triplet_ref(a, p, n, margin):
    return float(sim.triplet_loss_forward(a, p, n, margin, eps=0.0)[0])


WRONG_TRIPLET = [
    lambda a, p, n, m: float(np.mean(np.linalg.norm(a - p, axis=1) - np.linalg.norm(a - n, axis=1) + m)),  # no max(0, ·)
    lambda a, p, n, m: float(np.sum(np.maximum(0, np.linalg.norm(a - p, axis=1) - np.linalg.norm(a - n, axis=1) + m))),
    lambda a, p, n, m: float(np.mean(np.maximum(0, np.linalg.norm(a - n, axis=1) - np.linalg.norm(a - p, axis=1) + m))),
]


def _hardest_broken(dist, labels):           # the exercise's starting code
    same = labels[:, None] == labels[None, :]
    return np.where(same, dist, np.inf).argmin(axis=1), np.where(same, -np.inf, dist).argmax(axis=1)


def _hardest_neg_fixed_only(dist, labels):
    same = labels[:, None] == labels[None, :]
    return np.where(same, dist, np.inf).argmin(axis=1), np.where(same, np.inf, dist).argmin(axis=1)


def _hardest_pos_fixed_only(dist, labels):
    same = labels[:, None] == labels[None, :]
    other = same & ~np.eye(len(labels), dtype=bool)
    return np.where(other, dist, -np.inf).argmax(axis=1), np.where(same, -np.inf, dist).argmax(axis=1)


def test_check_triplet_loss():
    assert_checker(ch.check_triplet_loss, _triplet_ref, WRONG_TRIPLET)


def test_check_hardest_triplets_rejects_each_bug(lenient):
    assert_checker(ch.check_hardest_triplets, sim.hardest_triplets,
                   [_hardest_broken, _hardest_neg_fixed_only, _hardest_pos_fixed_only])


def test_predict_and_derive_checks(lenient):
    assert ch.check_collapse_prediction(0.2)
    r = ch.check_collapse_prediction(0.0)           # "everything equal, so zero loss"
    assert not r and "not a minimum" in r.message
    assert ch.check_triplet_count(18_816)
    assert ch.triplet_count(2, 2) == 2 * 2 * 1 * 1 * 2
    r = ch.check_triplet_count(7 * 8 * 8 * 6 * 8)  # counted the anchor as its own positive
    assert not r and "K − 1" in r.message


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.ExerciseCheckError):
        ch.check_triplet_loss(WRONG_TRIPLET[0])


# ------------------------------------------------- negative controls for the notebook's asserts
def test_raw_pixels_and_an_untrained_network_fail_the_verification_assert(split):
    raw = ch.verify(ch.raw_pixels(split.X_unseen), split)["test_accuracy"]
    torch.manual_seed(1)
    untrained = ch.verify(ch.embed(sim.EmbeddingNet(side=14), split.X_unseen), split)["test_accuracy"]
    assert raw < ch.VERIFY_MIN and untrained < ch.VERIFY_MIN, (raw, untrained)
    shuffled = np.random.default_rng(0).permutation(ch.raw_pixels(split.X_unseen))   # ignores which image is which
    assert ch.verify(shuffled, split)["test_accuracy"] < 0.55


def test_the_trained_embedding_passes_on_another_seed(split):
    model, _ = ch.train_embedding(split.X_train, split.y_train, 600, margin=0.2, seed=1, progress=False)
    e = ch.embed(model, split.X_unseen)
    assert ch.verify(e, split)["test_accuracy"] >= ch.VERIFY_MIN
    assert ch.median_distance(e) > ch.COLLAPSE_DISTANCE


def test_batch_hard_mining_collapses_this_normalised_embedding(split):
    """The chapter's claim: batch-hard mining (7 × 16 batches, margin 0.2, Adam 1e-3) drives every embedding to
    nearly one point within 100 steps, and its loss sits at the margin; batch-all does not collapse."""
    model, history = ch.train_embedding(split.X_train, split.y_train, 100, margin=0.2, mining="hard", per_class=16,
                                        seed=1, progress=False)
    assert ch.median_distance(ch.embed(model, split.X_unseen)) < ch.COLLAPSE_DISTANCE
    assert np.mean(history["train_loss"][-10:]) == pytest.approx(0.2, abs=0.02)


@pytest.fixture(scope="module")
def small_style():
    content, style = ch.style_images(48)
    return content, style, ch.texture_net(filters=32)


def test_style_transfer_passes_and_style_weight_zero_fails_the_style_assert(small_style):
    content, style, net = small_style
    good = ch.run_style_transfer(content, style, net, rounds=4, show_progress=False)
    assert good.style_losses[0] / good.style_losses[-1] >= ch.STYLE_DROP_MIN
    assert good.content_losses[-1] <= ch.CONTENT_MAX
    no_style = ch.run_style_transfer(content, style, net, rounds=2, style_weight=0.0, show_progress=False)
    assert no_style.style_losses[0] / no_style.style_losses[-1] < ch.STYLE_DROP_MIN
    # the unoptimised content image: its "drop" is exactly 1
    assert ch.style_loss_of(content, style, net) == pytest.approx(good.style_losses[0], rel=1e-5)
