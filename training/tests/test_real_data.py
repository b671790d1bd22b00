"""Issue 12: the real-case dataset, the slab and organ-box draws, the realism augmentation, the loss."""
import json
import os

import numpy as np
import pytest
import torch

import make_real_dataset
from scn.data import Case, Realism, apply_realism, load_case, nnunet_cases, organ_box_draw, sample, slab_draw, Augment, dataset_case_facts, SEG_VALID, write_nnunet_case
from scn.losses import generalized_dice_loss, one_hot, organ_soft_dice_loss, scn_losses
from scn.phantom import generate_phantom

DATA = os.environ.get('SCN_STUDIO_TEST_DATA')


def phantom_case():
    im, lb, sp = generate_phantom(5)
    return Case('p', im.astype(np.float32), lb, sp)


def test_slab_draw_keeps_only_the_slab_and_matches_the_engine_grid():
    case = phantom_case()
    rng = np.random.default_rng(1)
    padded = 0
    for _ in range(8):
        size, centre, (z0, z1) = slab_draw(case, 4.0, rng)
        assert all(s in v for s, v in zip(size, SEG_VALID))
        assert size[0] * 4.0 >= (z1 - z0) - 1e-6  # the grid covers the slab, as the engine's does
        x, y = sample(case, size, 4.0, centre, rng, Augment.none(), 0.0, zrange_mm=(z0, z1))
        zs = (np.arange(size[0]) - (size[0] - 1) / 2) * 4.0 + centre[0]
        outside = (zs < z0 - 1e-6) | (zs > z1 + 1e-6)
        # beyond the slab's ends: padding and no labels (a slab as thick as a valid size has none)
        padded += int(outside.any())
        assert np.all(x[outside] == np.float32(-1024 / 2048)) and np.all(y[outside] == 0)
        assert (y[~outside] > 0).any()
    assert padded > 0


def test_z_replicate_repeats_the_slab_edges_in_image_and_labels():
    # the engine's zPadding 'replicate': beyond a slab's ends the network sees the edge slices repeated
    case = phantom_case()
    rng = np.random.default_rng(5)
    size, centre, (z0, z1) = slab_draw(case, 4.0, rng, (12.0, 20.0))
    x, y = sample(case, size, 4.0, centre, rng, Augment.none(), 0.0, zrange_mm=(z0, z1), z_replicate=True)
    zs = (np.arange(size[0]) - (size[0] - 1) / 2) * 4.0 + centre[0]
    below, above = np.flatnonzero(zs < z0), np.flatnonzero(zs > z1)
    assert len(below) and len(above)
    # every plane beyond an end equals the plane at that end (constant along z), image and labels
    assert np.all(x[below] == x[below[0]]) and np.all(y[below] == y[below[0]])
    assert np.all(x[above] == x[above[-1]]) and np.all(y[above] == y[above[-1]])
    assert (x[below[0]] > -0.45).any() and (x[above[0]] > -0.45).any()  # tissue repeated, not padding
    # without it the same draw pads with air
    xp, yp = sample(case, size, 4.0, centre, np.random.default_rng(5), Augment.none(), 0.0, zrange_mm=(z0, z1))
    assert np.all(xp[below] == np.float32(-1024 / 2048)) and np.all(yp[above] == 0)


def test_organ_box_draw_covers_the_organs_with_a_margin():
    case = phantom_case()
    lo, hi = case.organ_box_mm()
    size, centre = organ_box_draw(case, 4.0, np.random.default_rng(2))
    assert np.all(np.array(size) * 4.0 >= np.minimum(hi - lo, np.array([v[-1] for v in SEG_VALID]) * 4.0))


def test_realism_keeps_labels_and_clips_only_inside_the_ct():
    rng = np.random.default_rng(3)
    lab = np.zeros((16, 16, 16), np.uint8)
    lab[4:12, 4:12, 4:12] = 1
    img = np.where(lab > 0, 60.0, -1000.0).astype(np.float32)
    inside = np.ones_like(lab, bool)
    inside[:, :, :2] = False
    img[~inside] = -1024
    out = apply_realism(img, lab, inside, rng, Realism(p_organ_shift=0, p_noise=0, p_thick=0, p_window=1.0, p_lesion=0))
    assert out[inside].min() == -160 and out[inside].max() <= 240
    assert np.all(out[~inside] == -1024)  # padding beyond the scan stays padding
    les = apply_realism(img, lab, inside, np.random.default_rng(4), Realism(p_organ_shift=0, p_noise=0, p_thick=0, p_window=0, p_lesion=1.0))
    assert les[lab == 1].min() < 60 and np.all(les[lab == 0] == img[lab == 0])  # lesions only inside the liver


def test_absent_organs_keep_a_gradient_in_the_generalized_dice():
    labels = torch.zeros((1, 8, 8, 8), dtype=torch.long)
    labels[0, 2:6, 2:6, 2:6] = 1  # only organ 1 present
    logits = torch.zeros((1, 5, 8, 8, 8), requires_grad=True)
    loss = generalized_dice_loss(one_hot(labels, 5), torch.softmax(logits, 1))
    loss.backward()
    assert 0 < float(loss) < 0.99  # the authors' 1/eps weight saturates this at ~1
    assert float(logits.grad[0, 3].abs().sum()) > 0  # an absent organ's false positives are penalised


def test_organ_dice_weighs_a_large_organ_like_a_small_one():
    labels = torch.zeros((1, 16, 16, 16), dtype=torch.long)
    labels[0, 1:15, 1:15, 1:15] = 1  # a large organ
    labels[0, 0, 0, 0:2] = 2  # a small one
    oh = one_hot(labels, 5)
    shrunk = oh.clone()  # the large organ predicted one voxel inside its contour, the small one right
    shrunk[0, 1, 1:15, 1:15, 1:15] = 0
    shrunk[0, 1, 2:14, 2:14, 2:14] = 1
    shrunk[0, 0] = 1 - shrunk[0, 1:].sum(0)
    true_dice = 2 * 12 ** 3 / (14 ** 3 + 12 ** 3)
    # mean over the two present organs; organs 3 and 4 (absent) count for nothing
    assert float(organ_soft_dice_loss(oh, shrunk)) == pytest.approx((1 - true_dice) / 2, rel=1e-4)
    assert float(organ_soft_dice_loss(oh, oh)) == pytest.approx(0, abs=1e-6)
    # the generalized Dice hardly notices the large organ's missing shell (weight 1/volume^2)
    assert float(generalized_dice_loss(oh, shrunk)) < 0.1 * float(organ_soft_dice_loss(oh, shrunk))
    fp = oh.clone()
    fp[0, 3, 0, 15, 15] = 1  # a false positive of an absent organ: the cross-entropy's job, not this term's
    assert float(organ_soft_dice_loss(oh, fp)) == pytest.approx(0, abs=1e-6)


def test_neighbours_are_background_that_the_cross_entropy_weighs_more():
    labels = torch.zeros((1, 8, 8, 8), dtype=torch.long)
    labels[0, 2:5, 2:6, 2:6] = 1  # liver
    labels[0, 5:7, 2:6, 2:6] = 5  # its neighbour (organs + 1)
    torch.manual_seed(0)
    outs = [torch.randn(1, 5, 8, 8, 8) for _ in range(3)]
    probs = torch.softmax(outs[2], 1)
    plain = labels.clone()
    plain[plain == 5] = 0
    base = scn_losses((outs[0], outs[1], outs[2], probs), plain, 5)
    same = scn_losses((outs[0], outs[1], outs[2], probs), labels, 5, neighbour_weight=1.0)
    heavy = scn_losses((outs[0], outs[1], outs[2], probs), labels, 5, neighbour_weight=3.0)
    for k in base:  # weight 1: exactly background; the Dice terms never see the neighbour
        assert float(same[k]) == pytest.approx(float(base[k]), rel=1e-6)
    assert float(heavy['dice']) == pytest.approx(float(base['dice']), rel=1e-6)
    # weight 3: the neighbour's voxels count three times in the mean of the cross-entropy
    near = (labels == 5)[:, None].float()
    bce = torch.nn.functional.binary_cross_entropy_with_logits(outs[0], one_hot(plain, 5), reduction='none')
    assert float(heavy['ce_local']) == pytest.approx(float((bce * (1 + 2 * near)).mean()), rel=1e-5)
    assert float(heavy['ce_local']) > float(base['ce_local'])


def test_the_organ_box_leaves_out_the_neighbours():
    lab = np.zeros((20, 20, 20), np.uint8)
    lab[5:8, 5:8, 5:8] = 1
    lab[12:18, 5:8, 5:8] = 5
    case = Case('n', np.zeros(lab.shape, np.float32), lab, (2.0, 2.0, 2.0), neighbour=5)
    lo, hi = case.organ_box_mm()
    assert list(lo) == [10, 10, 10] and list(hi) == [14, 14, 14]
    assert make_real_dataset.map_labels(np.array([6, 7, 10, 14, 4]), make_real_dataset.AMOS_TO_FLARE, make_real_dataset.AMOS_NEIGHBOURS).tolist() == [1, 5, 4, 0, 5]
    assert make_real_dataset.map_labels(np.array([6, 7, 4]), make_real_dataset.AMOS_TO_FLARE).tolist() == [1, 0, 0]


@pytest.mark.skipif(not DATA, reason='needs ../shared/data (set SCN_STUDIO_TEST_DATA)')
def test_real_dataset_in_the_engine_frame(tmp_path):
    out = tmp_path / 'ds'
    make_real_dataset.main(['--data', DATA, '--out', str(out)])
    names = [n for n, _, _ in nnunet_cases(str(out))]
    assert set(names) == {'example_ct', 'amos_0018', 'amos_0001-slab'}
    # the liver-only 3-slice CT is for evaluation only: outside imagesTr, on the DICOM's world grid
    import nibabel as nib
    ev = json.load(open(out / 'dataset.json'))['scn_studio']['evalOnly']
    assert ev['dcmqi_ct-3slice']['organs'] == ['liver'] and ev['dcmqi_ct-3slice']['input'] == 'dcmqi/ct-3slice'
    ct3 = nib.load(str(out / 'evalOnly' / 'dcmqi_ct-3slice_0000.nii.gz'))
    liver3 = np.asarray(nib.load(str(out / 'evalOnly' / 'dcmqi_ct-3slice.nii.gz')).dataobj)
    assert ct3.shape == (512, 512, 3) and int(liver3.sum()) == 107098  # every voxel of the SEG's 3 frames
    hu = np.asarray(ct3.dataobj)
    assert 0 < hu[liver3 > 0].mean() < 150  # soft tissue under the mask: the frames landed on their slices
    # ImagePositionPatient of the first slice (LPS) -> RAS world of voxel (0, 511, 0) or (0, 0, 0)
    first = ct3.affine @ np.array([0, 0, 0, 1])
    assert np.allclose(first[:3], [235.2, 226.8, -128.69], atol=1e-2)
    facts = dataset_case_facts(str(out))
    assert facts['amos_0018']['windowHU'] == [-160.0, 240.0] and 'CC BY 4.0' in facts['amos_0018']['license']
    slab = load_case(str(out / 'imagesTr' / 'amos_0001-slab_0000.nii.gz'), str(out / 'labelsTr' / 'amos_0001-slab.nii.gz'))
    assert slab.image.shape == (11, 768, 768) and abs(slab.spacing[0] - 5.0) < 1e-3
    # rows of the DICOM run toward the front: in the LPS frame the liver is on the patient's right
    # (low x) and the spine (bone) at the back (high y)
    xs = np.argwhere(slab.labels == 1)[:, 2]
    assert xs.mean() < 384
    bone = np.argwhere(slab.image[5] > 300)
    assert bone[:, 0].mean() > 384
    import nibabel as nib
    aff = nib.load(str(out / 'imagesTr' / 'amos_0001-slab_0000.nii.gz')).affine
    # the world position of the first DICOM slice's first pixel ([-233, 373.43, 321.5] LPS) is kept
    ijk = np.linalg.inv(aff) @ np.array([233, -373.43, 321.5, 1])
    assert np.allclose(ijk[:3], [0, 767, 0], atol=1e-3)


def test_train_reads_the_neighbour_value_from_the_dataset_and_refuses_one_without(tmp_path):
    import train
    img, lab, sp = generate_phantom(5, shape_zyx=(24, 20, 28), spacing=6.0, synth_intensity=False)
    names = {'liver': 1, 'kidney': 2, 'spleen': 3, 'pancreas': 4}
    write_nnunet_case(str(tmp_path / 'plain'), 'c1', img, lab, sp, names)
    nb = lab.copy()
    nb[0:2] = 5  # a neighbour in the first slices
    write_nnunet_case(str(tmp_path / 'nb'), 'c1', img, nb, sp, {**names, 'neighbour': 5})
    args = lambda folder, w: train.parser().parse_args(['--data', str(tmp_path / folder), '--neighbour-weight', str(w)])
    with pytest.raises(SystemExit, match='no "neighbour" label'):
        train.build_sources(args('plain', 3), np.random.default_rng(0))
    real, _ = train.build_sources(args('nb', 3), np.random.default_rng(0))
    assert real[0].neighbour == 5 and (real[0].labels == 5).sum() == (nb == 5).sum()
    real, _ = train.build_sources(args('nb', 0), np.random.default_rng(0))  # off: neighbours are background
    assert real[0].neighbour is None and (real[0].labels == 5).sum() == 0
    with pytest.raises(SystemExit, match='must be'):
        train.build_sources(train.parser().parse_args(['--data', str(tmp_path / 'nb'), '--neighbour-weight', '3', '--organs', '3']), np.random.default_rng(0))
