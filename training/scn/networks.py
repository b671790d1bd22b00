"""
The two networks of the FLARE21 EfficientSCN (franzthaler/FLARE21-EfficientSCN, built on
christianpayer/MedicalDataAugmentationTool's tensorflow_train_v2), re-implemented in PyTorch with
the same structure, so that the authors' TensorFlow variables map one-to-one onto our parameters
(training/README.md lists the name pattern).

* UnetAvgLinear3D: U-Net with `num_levels` levels and the same number of filters at every level
  (no doubling), two 3x3x3 'same' convolutions + leaky ReLU(0.1) per block, average pooling x2,
  linear upsampling x2 and concatenation [skip, upsampled] before each expanding block. The deepest
  level also has an expanding block (UnetBase.call_expanding runs it on the un-combined node).
* LocalizationNet: UnetAvgLinear3D(F=32, 5 levels) + 1x1x1 conv to 2 classes, softmax at export.
* SpatialConfigurationNet: local appearance U-Net (F=32, 5 levels) -> 1x1x1 conv to
  num_labels = 1 + organs sigmoid channels; spatial configuration: average pool x4 of the local
  sigmoid maps and of the image, one U-Net (F=16, 4 levels) + 1x1x1 conv per output channel whose
  input is [image, the other organs' maps]; concat; cubic x4 upsampling (Keys a=-0.5, half-pixel,
  edge replication, done with plain slicing ops so that ONNX Runtime CPU runs it); the merge
  weights local and spatial by the spatial branch's binary entropy.
"""
from __future__ import annotations

import math
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

LEAKY_SLOPE = 0.1
MERGE_EPS = 1e-5


class ConvBlock(nn.Module):
    """TF `Sequential(name='contracting{L}'|'expanding{L}')` of `repeats` Conv3D 'conv{i}' + leaky ReLU."""

    def __init__(self, in_channels: int, filters: int, repeats: int = 2):
        super().__init__()
        self.repeats = repeats
        for i in range(repeats):
            self.add_module(f'conv{i}', nn.Conv3d(in_channels if i == 0 else filters, filters, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(self.repeats):
            x = F.leaky_relu(getattr(self, f'conv{i}')(x), LEAKY_SLOPE)
        return x


def upsample_linear_x2(x: torch.Tensor) -> torch.Tensor:
    """TF UpSampling3DLinear([2]*3): half-pixel linear with edge repetition == trilinear, align_corners=False."""
    return F.interpolate(x, scale_factor=2.0, mode='trilinear', align_corners=False)


class UnetAvgLinear3D(nn.Module):
    def __init__(self, in_channels: int, num_filters_base: int, num_levels: int, repeats: int = 2):
        super().__init__()
        self.num_levels = num_levels
        self.contracting = nn.ModuleDict()
        self.expanding = nn.ModuleDict()
        for level in range(num_levels):
            self.contracting[f'level{level}'] = ConvBlock(in_channels if level == 0 else num_filters_base, num_filters_base, repeats)
            deepest = level == num_levels - 1
            self.expanding[f'level{level}'] = ConvBlock(num_filters_base if deepest else 2 * num_filters_base, num_filters_base, repeats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips: List[torch.Tensor] = []
        for level in range(self.num_levels):
            x = self.contracting[f'level{level}'](x)
            skips.append(x)
            if level < self.num_levels - 1:
                x = F.avg_pool3d(x, 2)
        node = skips[-1]
        for level in reversed(range(self.num_levels)):
            if level < self.num_levels - 1:
                node = torch.cat([skips[level], upsample_linear_x2(node)], dim=1)  # TF order: [skip, upsampled]
            node = self.expanding[f'level{level}'](node)
        return node


class LocalizationNet(nn.Module):
    """Stage 1 (6 mm): logits [N, num_classes, Z, Y, X]; channel 1 = all organs merged."""

    def __init__(self, num_classes: int = 2, num_filters_base: int = 32, num_levels: int = 5):
        super().__init__()
        self.unet = UnetAvgLinear3D(1, num_filters_base, num_levels)
        self.prediction = nn.Conv3d(num_filters_base, num_classes, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.prediction(self.unet(image))


class LocalAppearance(nn.Module):
    def __init__(self, num_labels: int, num_filters_base: int = 32, num_levels: int = 5):
        super().__init__()
        self.unet = UnetAvgLinear3D(1, num_filters_base, num_levels)
        self.prediction = nn.Conv3d(num_filters_base, num_labels, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.prediction(self.unet(image))


class SpatialUnet(nn.Module):
    """TF Sequential([UnetAvgLinear3D(name='unet_l{k}'), Conv3D(1, name='l{k}')])."""

    def __init__(self, in_channels: int, num_filters_base: int = 16, num_levels: int = 4):
        super().__init__()
        self.unet = UnetAvgLinear3D(in_channels, num_filters_base, num_levels)
        self.prediction = nn.Conv3d(num_filters_base, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.prediction(self.unet(x))


def cubic_weight(t: float, a: float = -0.5) -> float:
    """Keys cubic convolution kernel (TF f_cubic, a = -0.5)."""
    t = abs(t)
    if t <= 1:
        return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1
    if t < 2:
        return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a
    return 0.0


def _shifted(xp: torch.Tensor, axis: int, shift: int, support: int) -> torch.Tensor:
    """xp is x padded by `support` repeated edge samples on both ends of `axis`; returns x[n - shift]."""
    start = support - shift
    end = -(support + shift)
    idx = [slice(None)] * xp.dim()
    idx[axis] = slice(start, end if end != 0 else None)
    return xp[tuple(idx)]


def upsample_axis_cubic(x: torch.Tensor, factor: int, axis: int) -> torch.Tensor:
    """
    Integer-factor cubic upsampling along one axis, exactly as TF upsample_axis_with_f: output
    sample factor*n + i lies at source position n + (1 - factor + 2i) / (2 factor) (half-pixel),
    edges repeat. Only Slice/Concat/Mul/Add/Reshape: ONNX Runtime CPU rejects 5-D cubic Resize.
    """
    support = 2
    n_first = [slice(None)] * x.dim()
    n_first[axis] = slice(0, 1)
    n_last = [slice(None)] * x.dim()
    n_last[axis] = slice(-1, None)
    first, last = x[tuple(n_first)], x[tuple(n_last)]
    xp = torch.cat([first] * support + [x] + [last] * support, dim=axis)
    shifts = {s: _shifted(xp, axis, s, support) for s in range(-support, support + 1)}
    phases = []
    for i in range(factor):
        pos = (1 - factor + 2 * i) / (2 * factor)
        acc = None
        for s in range(-support, support + 1):
            w = cubic_weight(pos + s)
            if w != 0:
                term = shifts[s] * w
                acc = term if acc is None else acc + term
        phases.append(acc)
    stacked = torch.stack(phases, dim=axis + 1)  # [..., n, factor, ...]
    return stacked.flatten(axis, axis + 1)


def upsample_cubic(x: torch.Tensor, factor: int = 4) -> torch.Tensor:
    for axis in (2, 3, 4):
        x = upsample_axis_cubic(x, factor, axis)
    return x


def binary_entropy_uncertainty(logits: torch.Tensor) -> torch.Tensor:
    """TF sigmoid_uncertainty: binary cross-entropy of sigmoid(l) with itself / ln 2, in [0, 1]."""
    p = torch.sigmoid(logits)
    # BCE-with-logits(labels=p, logits=l) = max(l,0) - l*p + log(1 + exp(-|l|))
    ce = torch.clamp(logits, min=0) - logits * p + torch.log1p(torch.exp(-torch.abs(logits)))
    return ce / math.log(2.0)


def merge_local_spatial(local_logits: torch.Tensor, spatial_logits: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Returns (merged, probs): merged = local*u + spatial*(1-u); probs = merged / (sum_c merged + 1e-5)."""
    local = torch.sigmoid(local_logits)
    spatial = torch.sigmoid(spatial_logits)
    u = binary_entropy_uncertainty(spatial_logits)
    merged = local * u + spatial * (1 - u)
    probs = merged / (merged.sum(dim=1, keepdim=True) + MERGE_EPS)
    return merged, probs


def salt_pepper(x: torch.Tensor, ratio: float) -> torch.Tensor:
    """Training-only noise on the spatial inputs: a `ratio` of voxels set to 0 or 1."""
    if ratio <= 0:
        return x
    r = torch.rand_like(x)
    x = torch.where(r < ratio / 2, torch.zeros_like(x), x)
    return torch.where(r > 1 - ratio / 2, torch.ones_like(x), x)


class SpatialConfiguration(nn.Module):
    """
    One U-Net per output channel (background included), fed [image, the other organs]. As in the TF
    code (`self.unets[i - 1]`), channel c is produced by unets[(c - 1) % num_labels]: channel 0
    (background, whose input is the image plus all organs) uses the last U-Net.
    """

    def __init__(self, num_labels: int, num_filters_base: int = 16, num_levels: int = 4, downsampling_factor: int = 4):
        super().__init__()
        self.num_labels = num_labels
        self.factor = downsampling_factor
        organs = num_labels - 1
        in_ch = [0] * num_labels
        for c in range(num_labels):
            in_ch[(c - 1) % num_labels] = 1 + (organs if c == 0 else organs - 1)
        self.unets = nn.ModuleList([SpatialUnet(in_ch[k], num_filters_base, num_levels) for k in range(num_labels)])
        self.channel_dropout = 0.0
        self.salt_pepper_ratio = 0.0

    def unet_for_channel(self, c: int) -> SpatialUnet:
        return self.unets[(c - 1) % self.num_labels]

    def forward(self, local_sigmoid: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        node = F.avg_pool3d(local_sigmoid, self.factor)[:, 1:]  # organs only: input_background=False
        img = F.avg_pool3d(image, self.factor)
        if self.training:
            node = salt_pepper(node, self.salt_pepper_ratio)
            if self.channel_dropout > 0:
                keep = (torch.rand(node.shape[0], node.shape[1], 1, 1, 1, device=node.device) >= self.channel_dropout).to(node.dtype)
                node = node * keep / (1 - self.channel_dropout)
        outs = []
        for c in range(self.num_labels):
            others = [node[:, j - 1:j] for j in range(1, self.num_labels) if j != c]
            outs.append(self.unet_for_channel(c)(torch.cat([img] + others, dim=1)))
        return upsample_cubic(torch.cat(outs, dim=1), self.factor)


class SpatialConfigurationNet(nn.Module):
    """Stage 2 (2 mm). forward() returns (local_logits, spatial_logits, merged, probs)."""

    def __init__(self, num_organs: int = 4):
        super().__init__()
        self.num_labels = num_organs + 1
        self.local_appearance = LocalAppearance(self.num_labels)
        self.spatial_configuration = SpatialConfiguration(self.num_labels)

    def forward(self, image: torch.Tensor):
        local_logits = self.local_appearance(image)
        spatial_logits = self.spatial_configuration(torch.sigmoid(local_logits), image)
        merged, probs = merge_local_spatial(local_logits, spatial_logits)
        return local_logits, spatial_logits, merged, probs


class LocalizationExport(LocalizationNet):
    """ONNX graph of stage 1: image -> softmax probabilities. A subclass, not a wrapper, so the
    ONNX initializers carry exactly LocalizationNet's parameter names."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.softmax(LocalizationNet.forward(self, image), dim=1)


class SegmentationExport(SpatialConfigurationNet):
    """ONNX graph of stage 2: image -> merged, normalised probabilities (same parameter names)."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return SpatialConfigurationNet.forward(self, image)[3]


def count_parameters(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def he_init(module: nn.Module, bias_std: float = 0.0, seed: int = None) -> nn.Module:
    """The authors' he_initializer (variance scaling 2/fan_in, truncated normal in TF; normal here)."""
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    for m in module.modules():
        if isinstance(m, nn.Conv3d):
            fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1] * m.kernel_size[2]
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * math.sqrt(2.0 / fan_in))
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * bias_std if bias_std > 0 else torch.zeros_like(m.bias))
    return module


def rescale_image_input(model: SpatialConfigurationNet, gain: float, shift: float) -> None:
    """
    A new input normalization v with old = gain * v + shift (both affine in HU) -> the same function
    of HU wherever neither clips: the image channel of every convolution that reads the image (the
    local appearance U-Net's first one, and each spatial U-Net's first, whose channel 0 is the pooled
    image; pooling is linear) gets W0 * gain, and its bias + shift * sum(W0). Zero padding at the crop
    border now stands for a different HU: the network re-learns that edge during fine-tuning.
    """
    convs = [model.local_appearance.unet.contracting['level0'].conv0]
    convs += [u.unet.contracting['level0'].conv0 for u in model.spatial_configuration.unets]
    with torch.no_grad():
        for conv in convs:
            w0 = conv.weight[:, 0:1]
            conv.bias.add_(shift * w0.sum(dim=(1, 2, 3, 4)))
            conv.weight[:, 0:1] = w0 * gain
