"""Losses of the FLARE21 SCN (tensorflow_train_v2/losses/semantic_segmentation_losses.py)."""
import torch
import torch.nn.functional as F


def one_hot(labels: torch.Tensor, num_labels: int) -> torch.Tensor:
    """[N, Z, Y, X] int -> [N, C, Z, Y, X] float."""
    return F.one_hot(labels.long(), num_labels).permute(0, 4, 1, 2, 3).to(torch.float32)


def generalized_dice_loss(onehot: torch.Tensor, probs: torch.Tensor, weight_epsilon: float = 1e-4, epsilon: float = 1e-8) -> torch.Tensor:
    """Sudre et al. 2017 as in the authors' code: weights 1/(sum g)^2, squared denominator."""
    axes = (2, 3, 4)
    w = 1.0 / (onehot.sum(axes) ** 2 + weight_epsilon)
    num = (w * (onehot * probs).sum(axes)).sum(1)
    den = (w * (onehot + probs ** 2).sum(axes)).sum(1)
    return (1 - 2 * (num + epsilon) / (den + epsilon)).mean()


def sigmoid_ce(onehot: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits.float(), onehot)


def l2_kernels(module: torch.nn.Module) -> torch.Tensor:
    """TF kernel_regularizer=l2(1.0) summed over conv kernels (the authors scale it by 1e-6)."""
    return sum((p.float() ** 2).sum() for n, p in module.named_parameters() if n.endswith('weight'))


def scn_losses(outputs, labels: torch.Tensor, num_labels: int) -> dict:
    local_logits, spatial_logits, merged, probs = outputs
    oh = one_hot(labels, num_labels)
    return {
        'dice': generalized_dice_loss(oh, probs.float()),
        'ce_local': sigmoid_ce(oh, local_logits),
        'ce_spatial': sigmoid_ce(oh, spatial_logits),
    }


def localization_losses(logits: torch.Tensor, labels: torch.Tensor) -> dict:
    oh = one_hot(labels, logits.shape[1])
    return {
        'dice': generalized_dice_loss(oh, torch.softmax(logits.float(), 1)),
        'ce': F.cross_entropy(logits.float(), labels.long()),
    }
