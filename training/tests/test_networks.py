"""Structure of the FLARE21 SCN: parameter counts, upsampling, merge, label count, ONNX export."""
import math
import os

import numpy as np
import pytest
import torch

from scn.networks import (LocalizationNet, SpatialConfigurationNet, count_parameters, cubic_weight,
                          merge_local_spatial, upsample_cubic, upsample_linear_x2)


def test_parameter_counts_match_the_flare21_networks():
    assert count_parameters(LocalizationNet()) == 637_474
    scn = SpatialConfigurationNet(4)
    assert count_parameters(scn.local_appearance) == 637_573
    assert count_parameters(scn.spatial_configuration) == 632_517
    assert count_parameters(scn) == 1_270_090


def test_label_count_is_configurable():
    scn = SpatialConfigurationNet(6)
    out = scn(torch.zeros(1, 1, 32, 32, 32))
    assert all(o.shape == (1, 7, 32, 32, 32) for o in out)
    # background U-Net sees image + 6 organs, organ U-Nets image + 5 others
    assert scn.spatial_configuration.unet_for_channel(0).unet.contracting['level0'].conv0.in_channels == 7
    assert scn.spatial_configuration.unet_for_channel(3).unet.contracting['level0'].conv0.in_channels == 6


def _ref_cubic_1d(v, factor):
    """Independent reference: half-pixel Keys(a=-0.5) with clamped indices."""
    n = len(v)
    out = np.zeros(n * factor)
    for o in range(n * factor):
        src = (o + 0.5) / factor - 0.5
        base = math.floor(src)
        acc = 0.0
        for k in range(base - 1, base + 3):
            acc += v[min(max(k, 0), n - 1)] * cubic_weight(src - k)
        out[o] = acc
    return out


def test_cubic_x4_matches_half_pixel_keys_reference():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 2, 3, 5, 4)).astype(np.float64)
    got = upsample_cubic(torch.from_numpy(x), 4).numpy()
    ref = x
    for axis in (2, 3, 4):
        ref = np.apply_along_axis(_ref_cubic_1d, axis, ref, 4)
    assert got.shape == (1, 2, 12, 20, 16)
    assert np.abs(got - ref).max() < 1e-12


def test_cubic_upsampling_reproduces_constants_and_ramps_inside():
    ramp = torch.arange(8, dtype=torch.float64).reshape(1, 1, 8, 1, 1).repeat(1, 1, 1, 2, 2)
    up = upsample_cubic(ramp, 4)[0, 0, :, 0, 0].numpy()
    # away from the edges, Keys cubic reproduces linear functions exactly at the half-pixel positions
    pos = (np.arange(32) + 0.5) / 4 - 0.5
    assert np.allclose(up[8:24], pos[8:24], atol=1e-12)
    assert torch.allclose(upsample_cubic(torch.ones(1, 1, 2, 3, 4)), torch.ones(1, 1, 8, 12, 16))


def test_linear_x2_is_half_pixel_with_edge_repeat():
    x = torch.tensor([0.0, 4.0, 8.0]).reshape(1, 1, 3, 1, 1)
    got = upsample_linear_x2(x)[0, 0, :, 0, 0].tolist()
    assert got == pytest.approx([0.0, 1.0, 3.0, 5.0, 7.0, 8.0])


def test_merge_uses_entropy_weight():
    local = torch.tensor([0.0, 3.0]).reshape(1, 2, 1, 1, 1)
    spatial = torch.tensor([0.0, -20.0]).reshape(1, 2, 1, 1, 1)
    merged, probs = merge_local_spatial(local, spatial)
    # channel 0: spatial p=0.5 -> u=1 -> local sigmoid(0)=0.5; channel 1: spatial certain -> ~0
    assert merged[0, 0].item() == pytest.approx(0.5, abs=1e-6)
    assert merged[0, 1].item() == pytest.approx(0.0, abs=1e-4)
    assert probs.sum().item() == pytest.approx(1.0, abs=1e-4)


def test_export_keeps_parameter_names_and_runs_in_onnx_checker(tmp_path):
    onnx = pytest.importorskip('onnx')
    from export_onnx import build_card, write_model_folder
    torch.manual_seed(0)
    loc, seg = LocalizationNet(), SpatialConfigurationNet(4)
    write_model_folder(loc, seg, str(tmp_path), build_card('t', '0', '', 'Apache-2.0', 'none'))
    for name, net in (('localization.onnx', loc), ('segmentation.onnx', seg)):
        m = onnx.load(os.path.join(tmp_path, name))
        onnx.checker.check_model(m)
        assert m.opset_import[0].version == 17
        inits = {i.name for i in m.graph.initializer}
        assert {n for n, _ in net.named_parameters()} <= inits
        assert [i.name for i in m.graph.input] == ['image'] and [o.name for o in m.graph.output] == ['probs']
        # no 5-D cubic Resize (ONNX Runtime CPU rejects it)
        for node in m.graph.node:
            if node.op_type == 'Resize':
                modes = [a.s for a in node.attribute if a.name == 'mode']
                assert modes == [b'linear']
