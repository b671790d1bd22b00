"""Losses of the FLARE21 SCN (tensorflow_train_v2/losses/semantic_segmentation_losses.py)."""
import torch
import torch.nn.functional as F


def one_hot(labels: torch.Tensor, num_labels: int) -> torch.Tensor:
    """[N, Z, Y, X] int -> [N, C, Z, Y, X] float."""
    return F.one_hot(labels.long(), num_labels).permute(0, 4, 1, 2, 3).to(torch.float32)


def generalized_dice_loss(onehot: torch.Tensor, probs: torch.Tensor, weight_epsilon: float = 1e-4, epsilon: float = 1e-8) -> torch.Tensor:
    """
    Sudre et al. 2017 as in the authors' code: weights 1/(sum g)^2, squared denominator.
    Deviation: a class absent from the crop gets the weight of the smallest present class instead
    of 1/epsilon. With the authors' whole-box crops every organ is present; in thin slabs and small
    crops most are not, and a 1e4 weight makes the ratio saturate at 1 (no gradient at all), so the
    loss learned nothing from exactly the crops that teach "no organ here".
    """
    axes = (2, 3, 4)
    g = onehot.sum(axes)
    w = 1.0 / (g ** 2 + weight_epsilon)
    present = g > 0
    w_max_present = torch.where(present, w, torch.zeros_like(w)).amax(1, keepdim=True)
    w = torch.where(present, w, w_max_present)
    num = (w * (onehot * probs).sum(axes)).sum(1)
    den = (w * (onehot + probs ** 2).sum(axes)).sum(1)
    return (1 - 2 * (num + epsilon) / (den + epsilon)).mean()


def organ_soft_dice_loss(onehot: torch.Tensor, probs: torch.Tensor, epsilon: float = 1e-5) -> torch.Tensor:
    """
    1 - mean soft Dice over the organs present in the crop (background excluded, every organ
    weighted alike), as nnU-Net's Dice term. Added to the authors' losses with train.py --organ-dice:
    the generalized Dice weights a class by 1/volume^2, so the liver, the largest organ, counts least,
    and the held-out livers came out inside their true contour. Absent organs are left to the
    cross-entropy (a soft Dice of an empty class only measures false positives, badly).
    """
    axes = (2, 3, 4)
    g = onehot[:, 1:].sum(axes)
    inter = (onehot[:, 1:] * probs[:, 1:]).sum(axes)
    dice = (2 * inter + epsilon) / (g + probs[:, 1:].sum(axes) + epsilon)
    present = (g > 0).float()
    n = present.sum()
    if n == 0:
        return probs.sum() * 0  # keeps the graph; nothing to score
    return ((1 - dice) * present).sum() / n


def sigmoid_ce(onehot: torch.Tensor, logits: torch.Tensor, weight: torch.Tensor = None) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits.float(), onehot, weight=weight)


def l2_kernels(module: torch.nn.Module) -> torch.Tensor:
    """TF kernel_regularizer=l2(1.0) summed over conv kernels (the authors scale it by 1e-6)."""
    return sum((p.float() ** 2).sum() for n, p in module.named_parameters() if n.endswith('weight'))


def scn_losses(outputs, labels: torch.Tensor, num_labels: int, organ_dice: float = 0.0, neighbour_weight: float = 0.0) -> dict:
    """labels: values 0..num_labels-1, and with neighbour_weight > 0 also num_labels (an organ's
    neighbour: background whose voxels count neighbour_weight times in the cross-entropies, so that
    the stomach wall, gallbladder or vessels next to an organ are not taken for it)."""
    local_logits, spatial_logits, merged, probs = outputs
    weight = None
    if neighbour_weight > 0:
        near = labels == num_labels
        labels = torch.where(near, torch.zeros_like(labels), labels)
        weight = (1 + (neighbour_weight - 1) * near.float())[:, None]
    oh = one_hot(labels, num_labels)
    parts = {
        'dice': generalized_dice_loss(oh, probs.float()),
        'ce_local': sigmoid_ce(oh, local_logits, weight),
        'ce_spatial': sigmoid_ce(oh, spatial_logits, weight),
    }
    if organ_dice:
        parts['organ_dice'] = organ_dice * organ_soft_dice_loss(oh, probs.float())
    return parts


def localization_losses(logits: torch.Tensor, labels: torch.Tensor) -> dict:
    oh = one_hot(labels, logits.shape[1])
    return {
        'dice': generalized_dice_loss(oh, torch.softmax(logits.float(), 1)),
        'ce': F.cross_entropy(logits.float(), labels.long()),
    }
