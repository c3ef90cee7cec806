"""course_utils.chapters.ch12_detection_segmentation: experiments, widget, checks and negative controls."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_checker

from course_utils import checks
from course_utils.chapters import ch12_detection_segmentation as ch
from course_utils.scratch import detection
from course_utils.widgets import Slider, figure_texts, interactive_figure


@pytest.fixture(scope="module")
def split():
    return ch.shapes_split(seed=1)


# ------------------------------------------------------------ experiments
def test_sliding_windows_equal_the_convolutional_scores():
    rng = np.random.default_rng(3)
    params = ch.window_classifier(rng)
    image = rng.uniform(size=(3, 20, 18))
    np.testing.assert_allclose(ch.window_scores_by_sliding(image, params), ch.window_scores_by_convolution(image, params),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("size, stride", [(32, 2), (20, 1), (21, 3)])
def test_windows_per_feature_counts_what_sliding_computes(size, stride):
    """Count, with the real sliding loop, which first-layer features each crop computes (pixels encode positions)."""
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    image = np.stack([rows, cols, np.zeros_like(rows)]).astype(float)
    counts = np.zeros((size - 2, size - 2), dtype=int)

    def classify(crop):
        r, c = int(crop[0, 0, 0, 0]), int(crop[0, 1, 0, 0])
        counts[r:r + 6, c:c + 6] += 1      # an 8×8 crop's 3×3 valid convolution: 6×6 features
        return np.zeros((1, 1))

    detection.sliding_window_scores(image, classify, 8, stride)
    np.testing.assert_array_equal(ch.windows_per_feature(size, 8, stride, 3), counts)
    assert ch.windows_per_feature().max() == 9    # the chapter's image: up to 3 × 3 windows


def test_checkerboard_variances():
    v = ch.upsampling_variances()
    assert v["transposed conv, kernel 3, stride 2"] > 1.0
    assert v["transposed conv, kernel 4, stride 2"] == 0 == v["nearest ×2, then 3×3 conv"]


def test_figures_draw(split):
    train, test = split
    assert ch.plot_upsamplers(np.arange(9.0).reshape(3, 3)) is not None
    assert ch.plot_checkerboard() is not None
    masks = test.masks[:3] > 0
    assert ch.plot_segmentations(test.subset(slice(0, 3)), {"truth": masks}, n=3) is not None
    assert "true boxes" in " ".join(figure_texts(ch.plot_detections(test, n=3)))


# ------------------------------------------------------------ widget
@pytest.fixture(scope="module")
def drawer(split):
    _, test = split
    torch.manual_seed(0)
    raw = ch.raw_outputs(detection.GridDetector(), test.images[:4])
    return ch.nms_drawer(test.images[:4], raw, test.subset(slice(0, 4)))


@pytest.mark.parametrize("iou,score", [(0.1, 0.0), (1.0, 0.0), (0.5, 0.3), (0.1, 0.95), (1.0, 0.95)])
def test_widget_extremes_draw(drawer, iou, score):
    texts = " ".join(figure_texts(drawer(iou_threshold=iou, score_threshold=score, image=3)))
    assert "before NMS" in texts and "after NMS" in texts


def test_widget_says_when_nothing_scores_high_enough_and_rejects_bad_settings(drawer):
    assert "lower the score threshold" in " ".join(figure_texts(drawer(iou_threshold=0.5, score_threshold=1.0)))
    assert "image must be between" in " ".join(figure_texts(drawer(image=9)))
    fig_def = interactive_figure(drawer, iou_threshold=Slider(0.1, 1.0, 0.05, value=0.5, static=[0.1, 1.0]),
                                 score_threshold=Slider(0.0, 0.95, 0.05, value=0.3, static=[0.0, 0.95]),
                                 image=Slider(0, 3, 1, value=0, static=[0, 3]))
    assert fig_def.render(iou_threshold=0.1, score_threshold=0.0, image=3)[:4] == b"\x89PNG"


def test_nms_removes_duplicates_on_the_untrained_output(drawer, split):
    _, test = split
    torch.manual_seed(0)
    raw = ch.raw_outputs(detection.GridDetector(), test.images[:1])
    boxes, scores, classes = detection.decode_predictions(raw[0], ch.CELL, ch.ANCHOR_WH)
    kept = detection.nms_per_class(boxes, scores, classes, 0.3)
    assert 0 < len(kept) < len(boxes)


# ------------------------------------------------------------ exercise checks
def _iou_ref(a, b):
    return float(detection.iou_loops(np.asarray(a)[None], np.asarray(b)[None])[0, 0])


def _iou_no_clip(a, b):            # forgets max(0, ·): disjoint boxes get a "negative overlap"
    inter = (min(a[2], b[2]) - max(a[0], b[0])) * (min(a[3], b[3]) - max(a[1], b[1]))
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


def _iou_over_sum(a, b):           # divides by the sum of the areas instead of the union
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return float(iw * ih / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])))


def _nms_unsorted_all_classes(boxes, scores, classes, thr):      # the exercise's starting code
    keep, alive = [], np.ones(len(boxes), dtype=bool)
    for i in range(len(boxes)):
        if alive[i]:
            keep.append(i)
            alive &= ~(detection.iou_matrix(boxes[i:i + 1], boxes)[0] > thr)
    return np.array(keep, dtype=np.int64)


def _nms_sorted_all_classes(boxes, scores, classes, thr):        # one bug fixed: sorted, but across classes
    return detection.nms(boxes, scores, thr)


def _nms_unsorted_per_class(boxes, scores, classes, thr):        # the other bug fixed: per class, but unsorted
    keep, alive = [], np.ones(len(boxes), dtype=bool)
    for i in range(len(boxes)):
        if alive[i]:
            keep.append(i)
            alive &= ~((detection.iou_matrix(boxes[i:i + 1], boxes)[0] > thr) & (classes == classes[i]))
    return np.array(keep, dtype=np.int64)


def test_check_iou():
    assert_checker(ch.check_iou, _iou_ref, [_iou_no_clip, _iou_over_sum])


def test_check_nms_per_class_rejects_each_bug_alone(lenient):
    assert_checker(ch.check_nms_per_class, lambda b, s, c, t: detection.nms_per_class(b, s, c, t),
                   [_nms_unsorted_all_classes, _nms_sorted_all_classes, _nms_unsorted_per_class])


def test_predict_and_derive_checks(lenient):
    assert ch.check_iou_prediction(1 / 7)
    r = ch.check_iou_prediction(0.25)            # "a quarter of the box overlaps"
    assert not r and "union" in r.message
    assert not ch.check_iou_prediction(...).attempted
    assert ch.check_transposed_size(14)
    r = ch.check_transposed_size(15)             # forgot the cropping
    assert not r and "padding crops" in r.message


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.ExerciseCheckError):
        ch.check_iou(_iou_over_sum)


# ------------------------------------------------- negative controls for the notebook's asserts
def test_unet_passes_and_the_same_net_without_skips_fails_the_miou_assert(split):
    """The notebook's comparison on another seed: the skips are what clears the bar."""
    train, test = split
    scores = {}
    for skips in (True, False):
        model, _ = ch.train_segmenter(train, 160, skips=skips, seed=1, progress=False)
        scores[skips] = ch.segmentation_scores(ch.predict_masks(model, test.images), test)["mean_iou"]
    assert scores[True] >= ch.MIOU_MIN > scores[False], scores


def test_trivial_segmenters_fail_the_miou_assert(split):
    _, test = split
    everything_background = np.zeros_like(test.masks, dtype=bool)
    centre_square = np.zeros_like(everything_background)
    centre_square[:, 8:24, 8:24] = True
    for pred in (everything_background, centre_square):
        assert ch.segmentation_scores(pred, test)["mean_iou"] < ch.MIOU_MIN


def test_untrained_centre_and_random_detectors_fail_the_map_assert(split):
    _, test = split
    torch.manual_seed(1)
    untrained, _ = ch.detector_map(ch.raw_outputs(detection.GridDetector(), test.images), test)
    centre, _ = detection.mean_average_precision(ch.centre_detections(test), ch.ground_truth(test), 3)
    random, _ = detection.mean_average_precision(ch.random_detections(test, np.random.default_rng(1)),
                                                 ch.ground_truth(test), 3)
    for m in (untrained, centre, random):
        assert m < ch.MAP_MIN / 5
    perfect = [(b, np.ones(len(b)), lab) for b, lab in ch.ground_truth(test)]
    assert detection.mean_average_precision(perfect, ch.ground_truth(test), 3)[0] == pytest.approx(1.0)
