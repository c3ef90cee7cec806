"""course_utils.scratch.segmentation: the U-Net's shapes and skips, and the IoU scores on hand-made masks."""
import numpy as np
import pytest
import torch

from course_utils.scratch import segmentation


def test_unet_is_fully_convolutional_and_the_no_skip_net_has_the_same_parameters():
    torch.manual_seed(0)
    net = segmentation.UNet((4, 8, 16), skips=True)
    plain = segmentation.UNet((4, 8, 16), skips=False)
    assert sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in plain.parameters())
    for shape in [(2, 3, 16, 16), (1, 3, 24, 40)]:
        assert net(torch.zeros(shape)).shape == (shape[0], 1, *shape[2:])


def test_skips_carry_information_the_plain_net_cannot_see():
    """With skips, the output depends on the input at full resolution: changing one pixel changes the
    output at that pixel even when the bottleneck is blind to it; without skips, only through the bottleneck."""
    torch.manual_seed(0)
    net = segmentation.UNet((4, 8), skips=True).eval()
    plain = segmentation.UNet((4, 8), skips=False).eval()
    plain.load_state_dict(net.state_dict())                  # identical weights
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        same_bottleneck = [m.down[1](torch.nn.functional.max_pool2d(m.down[0](x), 2)) for m in (net, plain)]
        assert torch.allclose(*same_bottleneck)
        assert not torch.allclose(net(x), plain(x))


def test_iou_per_image_and_mean_iou_by_hand():
    pred = np.zeros((2, 4, 4), dtype=bool)
    true = np.zeros((2, 4, 4), dtype=bool)
    pred[0, :2, :2] = True                                   # 4 pixels
    true[0, :2, :3] = True                                   # 6 pixels, 4 shared
    np.testing.assert_allclose(segmentation.iou_per_image(pred, true), [4 / 6, 1.0])   # image 1: both empty
    # shape: 4 shared of 6 in the union; background (both images): 26 shared of 28 in the union
    assert segmentation.mean_iou(pred, true) == pytest.approx((4 / 6 + 26 / 28) / 2)
    assert segmentation.mean_iou(true, true) == 1.0
