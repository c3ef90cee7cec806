"""course_utils.scratch.detection: IoU, NMS, anchors, mAP and the grid detector, against loops and hand-made cases.

torchvision (whose ``box_iou`` and ``nms`` would be the natural twins) does not work with
this torch build, so the vectorised versions are checked against plain loops on random
boxes, and every function against cases small enough to work out by hand.
"""
import numpy as np
import pytest
import torch

from course_utils.scratch import detection as det


def _random_boxes(rng, n, size=32.0):
    xy = rng.uniform(0, size - 2, (n, 2))
    wh = rng.uniform(1, size / 2, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


# ---------------------------------------------------------------------- IoU
def test_iou_hand_made_cases():
    a = np.array([[0, 0, 2, 2]], dtype=float)
    cases = {(1, 1, 3, 3): 1 / 7,          # overlap 1, union 4 + 4 − 1
             (0, 0, 2, 2): 1.0,            # identical
             (2, 0, 4, 2): 0.0,            # touching edges: no area in common
             (5, 5, 6, 6): 0.0,            # far apart
             (0, 0, 1, 2): 0.5,            # inside: 2 / 4
             (-1, -1, 3, 3): 4 / 16}       # contains it
    for b, expected in cases.items():
        b = np.array([b], dtype=float)
        assert det.iou_loops(a, b)[0, 0] == pytest.approx(expected)
        assert det.iou_matrix(a, b)[0, 0] == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(5))
def test_iou_matrix_equals_loops_and_runs_in_torch(seed):
    rng = np.random.default_rng(seed)
    a, b = _random_boxes(rng, 7), _random_boxes(rng, 5)
    expected = det.iou_loops(a, b)
    np.testing.assert_allclose(det.iou_matrix(a, b), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(det.iou_matrix(torch.tensor(a), torch.tensor(b)).numpy(), expected, rtol=1e-12)
    assert np.all((expected >= 0) & (expected <= 1))
    np.testing.assert_allclose(det.iou_matrix(a, a).diagonal(), 1.0)


def test_box_conversions_round_trip():
    boxes = _random_boxes(np.random.default_rng(0), 6)
    c = det.corners_to_centres(boxes)
    np.testing.assert_allclose(det.centres_to_corners(c), boxes)
    np.testing.assert_allclose(c[:, 2] * c[:, 3], det.box_area(boxes))


# ---------------------------------------------------------------------- NMS
def test_nms_hand_made_case():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9]], dtype=float)
    scores = np.array([0.9, 0.8, 0.7, 0.95])
    # box 3 is best; box 0 overlaps it by 0.9, box 1 by ~0.62: both suppressed; box 2 is elsewhere
    np.testing.assert_array_equal(det.nms(boxes, scores, 0.5), [3, 2])
    np.testing.assert_array_equal(det.nms(boxes, scores, 0.95), [3, 0, 1, 2])   # nothing overlaps that much
    np.testing.assert_array_equal(det.nms(boxes, scores, 0.5, score_threshold=0.85), [3])
    assert len(det.nms(boxes, scores, 0.5, score_threshold=0.99)) == 0


@pytest.mark.parametrize("seed", range(8))
def test_nms_equals_the_loop_version(seed):
    rng = np.random.default_rng(seed)
    boxes = _random_boxes(rng, 30, size=24)
    scores = rng.uniform(size=30)
    for thr in (0.1, 0.3, 0.5, 0.7):
        np.testing.assert_array_equal(det.nms(boxes, scores, thr), det.nms_loops(boxes, scores, thr))
    kept = det.nms(boxes, scores, 0.3)
    ious = det.iou_matrix(boxes[kept], boxes[kept])
    assert np.all(ious[~np.eye(len(kept), dtype=bool)] <= 0.3)       # no two kept boxes overlap that much
    assert np.all(np.diff(scores[kept]) <= 0)                          # best score first


def test_nms_per_class_keeps_overlapping_boxes_of_different_classes():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [1, 0, 10, 10]], dtype=float)
    scores = np.array([0.9, 0.8, 0.7])
    classes = np.array([0, 1, 0])
    np.testing.assert_array_equal(det.nms(boxes, scores, 0.5), [0])
    np.testing.assert_array_equal(det.nms_per_class(boxes, scores, classes, 0.5), [0, 1])


# ------------------------------------------------------------------ anchors
def test_anchor_boxes_are_centred_in_their_cells():
    anchors = det.anchor_boxes(4, 8, np.array([[8, 8], [12, 6]]))
    assert anchors.shape == (2, 4, 4, 4)
    np.testing.assert_allclose(anchors[0, 1, 2], [16, 8, 24, 16])       # row 1, column 2: centre (20, 12)
    np.testing.assert_allclose(anchors[1, 0, 0], [-2, 1, 10, 7])


def test_shape_iou_and_match_anchors_by_hand():
    anchor_wh = np.array([[8.0, 8.0], [16.0, 16.0]])
    np.testing.assert_allclose(det.shape_iou(np.array([[8.0, 8.0], [16.0, 8.0]]), anchor_wh),
                               [[1.0, 0.25], [0.5, 0.5]])
    boxes = np.array([[2.0, 3.0, 12.0, 11.0], [14.0, 14.0, 30.0, 30.0]])   # centres (7, 7) and (22, 22)
    target = det.match_anchors(boxes, np.array([2, 0]), grid=4, cell=8, anchor_wh=anchor_wh)
    assert target.shape == (2, 4, 4, 6) and target[..., 0].sum() == 2
    np.testing.assert_allclose(target[0, 0, 0], [1, 7 / 8, 7 / 8, np.log(10 / 8), np.log(8 / 8), 2])
    np.testing.assert_allclose(target[1, 2, 2], [1, 22 / 8 - 2, 22 / 8 - 2, 0, 0, 0])


@pytest.mark.parametrize("seed", range(3))
def test_decode_inverts_match_anchors(seed):
    """Raw outputs built from a target (logit of the offsets, the log sizes) decode back to the boxes."""
    rng = np.random.default_rng(seed)
    anchor_wh = np.array([[7.0, 7.0], [13.0, 13.0]])
    boxes = np.array([[3.0, 4.0, 9.0, 12.0], [17.0, 2.0, 31.0, 15.0]])
    target = det.match_anchors(boxes, np.array([1, 2]), 8, 4, anchor_wh)
    raw = np.full((2, 8, 8, 8), -20.0)
    obj = target[..., 0] > 0
    raw[..., 0] = np.where(obj, 20.0, -20.0)
    t = np.clip(target[..., 1:3], 1e-9, 1 - 1e-9)
    raw[..., 1:3] = np.log(t / (1 - t))
    raw[..., 3:5] = target[..., 3:5]
    raw[..., 5:] = 0.0
    raw[obj, 5 + target[obj, 5].astype(int)] = 10.0
    out = det.detect(raw[None] + 0 * rng.normal(), 4, anchor_wh, score_threshold=0.5)
    order = np.argsort(out.boxes[0][:, 0])
    np.testing.assert_allclose(out.boxes[0][order], boxes, atol=1e-6)
    np.testing.assert_array_equal(out.classes[0][order], [1, 2])


# ---------------------------------------------------------------------- mAP
def test_average_precision_hand_made_curves():
    assert det.average_precision([0.5, 1.0], [1.0, 1.0]) == pytest.approx(1.0)
    # ranked hits T, F, T with 2 ground-truth boxes: recall .5, .5, 1; precision 1, .5, 2/3
    assert det.average_precision([0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3]) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    # the envelope: a later, higher precision lifts earlier points
    assert det.average_precision([0.25, 0.25, 0.5], [1.0, 0.5, 2 / 3]) == pytest.approx(0.25 + 0.25 * 2 / 3)
    assert det.average_precision([], []) == 0.0


def test_mean_average_precision_hand_made_case():
    gt = [(np.array([[0, 0, 10, 10], [20, 20, 30, 30]], dtype=float), np.array([0, 1])),
          (np.array([[5, 5, 15, 15]], dtype=float), np.array([0]))]
    perfect = [(g[0], np.ones(len(g[1])), g[1]) for g in gt]
    assert det.mean_average_precision(perfect, gt, 2)[0] == pytest.approx(1.0)
    # class 0: a duplicate (0.8) and a miss; class 1: right box, wrong class → AP 0
    dets = [(np.array([[0, 0, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30]], dtype=float),
             np.array([0.9, 0.8, 0.7]), np.array([0, 0, 0])),
            (np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=int))]
    m, aps = det.mean_average_precision(dets, gt, 2)
    # class 0 ranked: T (r .5, p 1), F (r .5, p .5), F: AP = 0.5
    np.testing.assert_allclose(aps, [0.5, 0.0])
    assert m == pytest.approx(0.25)
    # a box shifted so that its IoU is below 0.5 is a false positive at 0.5 and a hit at 0.3
    shifted = [(np.array([[4, 0, 14, 10]], dtype=float), np.ones(1), np.zeros(1, dtype=int))]
    gt1 = [(np.array([[0, 0, 10, 10]], dtype=float), np.array([0]))]
    assert det.mean_average_precision(shifted, gt1, 1, iou_threshold=0.5)[0] == 0.0
    assert det.mean_average_precision(shifted, gt1, 1, iou_threshold=0.3)[0] == 1.0


def test_match_detections_counts_a_duplicate_once():
    tp = det.match_detections(np.array([[0, 0, 4, 4], [0, 0, 4, 4]], dtype=float), np.array([0.5, 0.9]),
                              np.array([[0, 0, 4, 4]], dtype=float))
    np.testing.assert_array_equal(tp, [False, True])                   # the higher score takes the match


# ------------------------------------------------------------- sliding window
def test_sliding_window_scores_visit_every_window():
    img = np.arange(2 * 6 * 7, dtype=float).reshape(2, 6, 7)
    scores = det.sliding_window_scores(img, lambda crop: crop.sum(axis=(1, 2, 3))[:, None], window=3, stride=2)
    assert scores.shape == (1, 2, 3)
    assert scores[0, 1, 2] == img[:, 2:5, 4:7].sum()


# ------------------------------------------------------------------ detector
def test_grid_detector_shapes_and_loss():
    torch.manual_seed(0)
    net = det.GridDetector(n_anchors=2, n_classes=3, channels=(8, 8), head_channels=8)
    raw = net(torch.zeros(2, 3, 32, 32))
    assert raw.shape == (2, 2, 8, 8, 8)
    target = torch.zeros(2, 2, 8, 8, 6)
    only_obj = det.grid_detector_loss(raw, target)
    target[0, 1, 3, 4] = torch.tensor([1, 0.5, 0.5, 0.0, 0.0, 2])
    full = det.grid_detector_loss(raw, target)
    assert torch.isfinite(full) and full.item() > 0 and full.item() != only_obj.item()
    full.backward()
    assert all(p.grad is not None for p in net.parameters())
