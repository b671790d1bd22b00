"""Training pipeline: CPU smoke (the loss goes down), resume, data loading in the engine's frame, phantoms, metrics."""
import json
import os

import numpy as np
import pytest
import torch

import train
from scn.data import Augment, Case, apply_label_map, load_case, nnunet_cases, sample, write_nnunet_case
from scn.labels import TOTALSEGMENTATOR_TO_FLARE, parse_label_map
from scn.metrics import dice, evaluate, nsd
from scn.phantom import generate_phantom


def _run(args):
    a = train.parser().parse_args(args)
    a.size = a.size or '64'
    return train.train(a)


def test_smoke_segmentation_loss_goes_down(tmp_path):
    r = _run(['--smoke', '--stage', 'segmentation', '--iterations', '10', '--lr', '1e-3', '--threads', '2',
              '--seed', '1', '--out', str(tmp_path), '--log-every', '100'])
    first, last = np.mean(r['losses'][:3]), np.mean(r['losses'][-3:])
    assert r['iterations'] == 10
    assert last < 0.85 * first, (first, last)


def test_smoke_localization_and_resume(tmp_path):
    r = _run(['--smoke', '--stage', 'localization', '--iterations', '6', '--lr', '1e-3', '--threads', '2',
              '--seed', '1', '--out', str(tmp_path), '--log-every', '100'])
    assert np.mean(r['losses'][-2:]) < 0.9 * np.mean(r['losses'][:2])
    ck = torch.load(os.path.join(tmp_path, 'checkpoint.pt'))
    assert ck['iteration'] == 6 and set(ck['ema']) == set(ck['model'])
    r2 = _run(['--smoke', '--stage', 'localization', '--iterations', '8', '--lr', '1e-3', '--threads', '2',
               '--seed', '1', '--out', str(tmp_path), '--resume', '--log-every', '100'])
    assert r2['iterations'] == 8 and len(r2['losses']) == 2
    rows = open(os.path.join(tmp_path, 'log.csv')).read().strip().split('\n')
    assert len(rows) == 1 + 8


def test_nnunet_dataset_round_trip_in_the_engine_frame(tmp_path):
    img, lab, sp = generate_phantom(5, shape_zyx=(24, 20, 28), spacing=6.0, synth_intensity=False)
    write_nnunet_case(str(tmp_path), 'case_001', img, lab, sp, {'liver': 1, 'kidney': 2, 'spleen': 3, 'pancreas': 4})
    cases = nnunet_cases(str(tmp_path))
    assert [c[0] for c in cases] == ['case_001']
    c = load_case(cases[0][1], cases[0][2])
    assert c.spacing == (6.0, 6.0, 6.0)
    assert np.array_equal(c.labels, lab) and np.array_equal(c.image, img.astype(np.float32))
    # LPS frame: liver on the patient's right (low x), spleen on the left (high x)
    assert np.argwhere(lab == 1)[:, 2].mean() < np.argwhere(lab == 3)[:, 2].mean()


def test_ras_nifti_is_reoriented_to_lps(tmp_path):
    nib = pytest.importorskip('nibabel')
    data = np.zeros((4, 3, 2), np.int16)  # x, y, z in RAS
    data[0, 0, 0] = 7  # RAS+ world: lowest x, y, z = the most left, posterior, inferior voxel
    nib.save(nib.Nifti1Image(data, np.diag([2.0, 3.0, 4.0, 1.0])), str(tmp_path / 'ras.nii.gz'))
    from scn.data import load_nifti_lps
    arr, sp = load_nifti_lps(str(tmp_path / 'ras.nii.gz'))
    assert arr.shape == (2, 3, 4) and sp == (4.0, 3.0, 2.0)
    # LPS index axes run right->left, anterior->posterior, inferior->superior: [z=0, y=last, x=last]
    assert arr[0, 2, 3] == 7 and arr.sum() == 7
    data2 = data[::-1]  # now x runs right-to-left: an LAS file
    nib.save(nib.Nifti1Image(np.ascontiguousarray(data2), np.array([[-2.0, 0, 0, 6], [0, 3, 0, 0], [0, 0, 4, 0], [0, 0, 0, 1]])), str(tmp_path / 'las.nii.gz'))
    arr2, _ = load_nifti_lps(str(tmp_path / 'las.nii.gz'))
    assert np.array_equal(arr, arr2)


def test_sample_without_augmentation_is_the_identity_on_the_grid():
    rng = np.random.default_rng(0)
    img = rng.integers(-500, 500, (16, 12, 10)).astype(np.float32)
    lab = (img > 0).astype(np.uint8)
    case = Case('t', img, lab, (2.0, 2.0, 2.0))
    centre = (np.array([16, 12, 10]) - 1) / 2 * 2.0
    x, y = sample(case, (16, 12, 10), 2.0, centre, rng, Augment.none(), 0.0)
    assert np.allclose(x, np.clip(img / 2048, -1, 1), atol=1e-6) and np.array_equal(y, lab)


def test_phase_realism_moves_each_organ_to_one_phase_and_leaves_the_rest():
    from scn.data import Realism, apply_realism
    rng = np.random.default_rng(3)
    lab = np.zeros((20, 20, 20), np.uint8)
    lab[2:8, 2:18, 2:10] = 1   # liver
    lab[10:14, 4:8, 4:8] = 2   # kidney
    lab[10:14, 12:16, 12:16] = 3
    lab[16:18, 4:16, 4:16] = 4
    # a contrast-enhanced case: kidney at 170 HU, liver 110, spleen 120, pancreas 100, fat around
    base = np.select([lab == 1, lab == 2, lab == 3, lab == 4], [110.0, 170.0, 120.0, 100.0], -90.0).astype(np.float32)
    base += rng.normal(0, 5, base.shape).astype(np.float32)
    r = Realism.none()
    r.p_phase, r.phase_jitter_hu = 1.0, 0.0
    inside = np.ones(lab.shape, bool)
    kidneys = []
    for _ in range(30):
        out = apply_realism(base, lab, inside, rng, r)
        assert np.array_equal(out[lab == 0], base[lab == 0])  # unlabelled tissue is left alone
        med = [float(np.median(out[lab == k])) for k in (1, 2, 3, 4)]
        t = (med[0] - r.phase_hu[0][0]) / (r.phase_hu[0][1] - r.phase_hu[0][0])
        assert -1e-3 <= t <= 1 + 1e-3
        for k in range(4):  # every organ in the same phase (jitter off)
            lo, hi = r.phase_hu[k]
            assert abs(med[k] - (lo + t * (hi - lo))) < 1e-3
        # texture kept: the spread inside an organ is the input's
        assert abs(np.std(out[lab == 2]) - np.std(base[lab == 2])) < 1e-3
        kidneys.append(med[1])
    assert min(kidneys) < 70 and max(kidneys) > 140  # non-contrast kidneys as well as enhanced ones


def test_lesions_stay_inside_the_liver_and_reach_mass_size():
    from scn.data import Realism, apply_realism
    rng = np.random.default_rng(4)
    lab = np.zeros((48, 48, 48), np.uint8)
    lab[4:44, 4:44, 4:30] = 1
    base = np.where(lab == 1, 100.0, 0.0).astype(np.float32)
    r = Realism.none()
    r.p_lesion = 1.0
    largest = 0
    for _ in range(20):
        out = apply_realism(base, lab, np.ones(lab.shape, bool), rng, r)
        changed = out != base
        assert not changed[lab != 1].any()
        largest = max(largest, int(changed.sum()))
    assert largest > 4 / 3 * np.pi * 6 ** 3  # at least one lesion wider than 6 voxels in radius


def test_organ_warp_scales_one_organ_against_its_neighbours_without_folding():
    from scn.data import OrganWarp, organ_warp_points
    # two balls 40 mm apart at 2 mm: warping only the first grows or shrinks it, the second barely moves
    zz, yy, xx = np.mgrid[:40, :40, :60] * 2.0
    lab = np.zeros((40, 40, 60), np.uint8)
    lab[(zz - 40) ** 2 + (yy - 40) ** 2 + (xx - 30) ** 2 <= 12 ** 2] = 1
    lab[(zz - 40) ** 2 + (yy - 40) ** 2 + (xx - 90) ** 2 <= 12 ** 2] = 2
    case = Case('t', lab.astype(np.float32) * 100, lab, (2.0, 2.0, 2.0))
    centre, radius = case.organ_shapes_mm()[1]
    assert np.allclose(centre, [40, 40, 30], atol=0.5) and abs(radius - 12) < 1.5  # index * spacing, mm
    rng = np.random.default_rng(0)
    for s in (0.75, 1.35):
        warp = OrganWarp(p=1.0, p_organ=1.0, scale=(s, s))
        first = np.where(lab == 2, 0, lab).astype(np.uint8)
        only_first = Case('t', first.astype(np.float32) * 100, first, case.spacing)
        centre_mm = (np.array(lab.shape) - 1) / 2 * 2.0
        x, y = sample(only_first, lab.shape, 2.0, centre_mm, rng, Augment.none(), 0.0, organ_warp=(warp, rng))
        grown = (y == 1).sum() / (lab == 1).sum()
        assert (grown > 1.4) if s > 1 else (grown < 0.75)
        bright = x > 50 / 2048  # image and labels move together (linear vs nearest at the border)
        assert (bright & (y == 1)).sum() > 0.9 * max(bright.sum(), (y == 1).sum())
        # one-to-one: along the line through the centre, the warped points keep their order
        line = np.zeros((3, 200))
        line[0], line[1] = centre[0], centre[1]
        line[2] = np.linspace(centre[2] - 80, centre[2] + 80, 200)
        moved = organ_warp_points(line, only_first, rng, warp)
        assert np.all(np.diff(moved[2]) > 0)
    # both organs, each drawn on its own: the second ball keeps its size when only the first is drawn
    rng = np.random.default_rng(1)
    sizes = []
    for _ in range(30):
        warp = OrganWarp(p=1.0, p_organ=0.5, scale=(0.75, 1.35))
        _, y = sample(case, lab.shape, 2.0, (np.array(lab.shape) - 1) / 2 * 2.0, rng, Augment.none(), 0.0, organ_warp=(warp, rng))
        sizes.append([(y == 1).sum() / (lab == 1).sum(), (y == 2).sum() / (lab == 2).sum()])
    sizes = np.array(sizes)
    assert np.abs(sizes[:, 0] - sizes[:, 1]).max() > 0.3  # organs scaled independently


def test_organ_warp_draws_from_its_own_generator(tmp_path):
    # a run with --organ-warp trains on the same sequence of cases and crops as without
    args = ['--stage', 'segmentation', '--phantoms', '2', '--phantom-ratio', '1', '--spacing', '6', '--size', '32,32,32',
            '--iterations', '3', '--threads', '1', '--seed', '9', '--log-every', '1']
    train.train(train.parser().parse_args(args + ['--out', str(tmp_path / 'a')]))
    train.train(train.parser().parse_args(args + ['--out', str(tmp_path / 'b'), '--organ-warp', '1']))
    src = [[r.split(',')[-1] for r in open(tmp_path / d / 'log.csv').read().split('\n')[1:] if r] for d in 'ab']
    assert src[0] == src[1] and len(src[0]) == 3


def test_fov_draw_cuts_a_field_of_at_least_the_minimum_with_labels_and_smoothing_aligned():
    from scn.data import fov_draw
    rng = np.random.default_rng(5)
    z = np.arange(100, dtype=np.float32)[:, None, None]  # slice index as the voxel value
    case = Case('long', np.broadcast_to(z, (100, 4, 4)).copy(), np.broadcast_to((z % 3).astype(np.uint8), (100, 4, 4)).copy(), (5.0, 2.0, 2.0))
    case.image_smoothed(3.0)
    lengths, starts = set(), set()
    for _ in range(200):
        cut = fov_draw(case, rng, min_mm=200.0)
        n = cut.image.shape[0]
        assert n * 5.0 >= 200.0 and cut.image.shape[1:] == (4, 4)
        z0 = int(cut.image[0, 0, 0])
        assert np.array_equal(cut.image[:, 0, 0], np.arange(z0, z0 + n))  # contiguous slices of the case
        assert np.array_equal(cut.labels[:, 0, 0], np.arange(z0, z0 + n) % 3)  # labels cut with them
        assert np.array_equal(cut.smoothed[3.0], case.smoothed[3.0][z0:z0 + n])
        lengths.add(n)
        starts.add(z0)
    assert min(lengths) <= 45 and max(lengths) >= 90 and len(starts) > 20  # short and long fields, anywhere
    short = Case('short', case.image[:30], case.labels[:30], case.spacing)  # 150 mm: not cut
    assert fov_draw(short, rng, min_mm=200.0) is short


def test_label_maps():
    assert parse_label_map('5:1,2:2, 3:2') == {5: 1, 2: 2, 3: 2}
    out = apply_label_map(np.array([5, 2, 3, 1, 7, 9]), TOTALSEGMENTATOR_TO_FLARE)
    assert out.tolist() == [1, 2, 2, 3, 4, 0]


def test_phantoms_vary_but_keep_the_anatomy():
    a = generate_phantom(1, shape_zyx=(40, 32, 40), spacing=9.0)
    b = generate_phantom(2, shape_zyx=(40, 32, 40), spacing=9.0)
    assert not np.array_equal(a[1], b[1])
    for img, lab, _ in (a, b):
        assert set(np.unique(lab)) == {0, 1, 2, 3, 4}
        assert np.argwhere(lab == 1)[:, 2].mean() < np.argwhere(lab == 3)[:, 2].mean()


def test_thorax_phantoms_put_lungs_and_a_heart_above_an_unlabelled_liver_top():
    kw = dict(shape_zyx=(56, 48, 60), spacing=6.0, synth_intensity=False)
    for seed in (3, 4, 5, 6):
        img0, lab0, _ = generate_phantom(seed, **kw)
        img, lab, _ = generate_phantom(seed, thorax=True, **kw)
        top = np.argwhere(lab == 1)[:, 0].max()
        # lungs: air-dense tissue above the liver, which the abdomen-only phantom has only as bowel gas
        tissue0 = img0[top + 2:] > -600
        assert (img[top + 2:][tissue0] < -600).mean() > 0.2
        # the diaphragm caps the organs: no label higher than without a thorax; the liver keeps most of
        # itself and gains a left lobe across the midline, in front ([z, y, x]: x grows to the left, y to the back)
        assert np.argwhere(lab > 0)[:, 0].max() <= np.argwhere(lab0 > 0)[:, 0].max()
        assert 0.6 < (lab == 1).sum() / (lab0 == 1).sum() < 1.6
        xc, yc = lab.shape[2] // 2, lab.shape[1] // 2
        assert (lab[:, :yc, xc + 2:] == 1).sum() > 3 * (lab0[:, :yc, xc + 2:] == 1).sum() + 10, seed
        assert set(np.unique(lab)) == {0, 1, 2, 3, 4}
        # a heart right above the liver, anterior and left of the midline ([z, y, x]: y grows to the back,
        # x to the left), soft-tissue dense and unlabelled, where the right lung's base is air
        zc, yc, xc = top + 3, lab.shape[1] // 2, lab.shape[2] // 2
        heart = img[zc - 1:zc + 3, yc - 8:yc - 2, xc:xc + 6]
        right_lung = img[zc - 1:zc + 3, yc - 2:yc + 6, xc - 20:xc - 14]
        assert np.median(heart) > -150 and (lab[zc - 1:zc + 3, yc - 8:yc - 2, xc:xc + 6] == 0).all(), seed
        assert np.median(right_lung) < -500, seed


def test_metrics_by_hand():
    a = np.zeros((10, 10, 10), bool)
    b = np.zeros_like(a)
    a[2:6, 2:6, 2:6] = True
    b[2:6, 2:6, 3:7] = True  # one voxel along x (last axis)
    assert dice(a, b) == pytest.approx(0.75)
    assert nsd(a, b, (1, 1, 1), 1.0) == 1.0
    assert nsd(a, b, (1, 1, 1), 0.5) == pytest.approx(36 / 56)
    assert nsd(a, b, (1, 1, 2), 1.5) == pytest.approx(40 / 56)
    r = evaluate(a.astype(np.uint8), b.astype(np.uint8) * 2, (2, 2, 2), [1, 2])
    assert r[1]['dice'] == 0 and r[1]['nsd'] == 0 and r[1]['volumeDiffMl'] == pytest.approx(64 * 8 / 1000)


def test_fine_tuning_starts_from_a_model_folder_and_the_card_keeps_the_spacing(tmp_path):
    pytest.importorskip('onnx')
    from export_onnx import build_card, write_model_folder
    from scn.networks import LocalizationNet, SpatialConfigurationNet
    torch.manual_seed(3)
    loc, seg = LocalizationNet(), SpatialConfigurationNet(4)
    folder = str(tmp_path / 'model')
    write_model_folder(loc, seg, folder, build_card('t', '0', '', 'Apache-2.0', 'none', seg_spacing=4.0))
    card = json.load(open(os.path.join(folder, 'model.json')))
    assert card['stages']['segmentation']['spacing'] == [4.0, 4.0, 4.0]
    assert card['stages']['segmentation']['smoothingSigmaMm'] == 2.0  # spacing / 2, as 1 mm at 2 mm
    assert card['stages']['localization']['spacing'] == [6, 6, 6]
    # one step at a negligible rate: the run's weights are the folder's, not a fresh initialisation
    out = str(tmp_path / 'run')
    _run(['--smoke', '--stage', 'segmentation', '--iterations', '1', '--lr', '1e-12', '--threads', '2', '--seed', '1',
          '--init-from', folder, '--spacing', '4', '--out', out, '--log-every', '100'])
    ck = torch.load(os.path.join(out, 'checkpoint.pt'))
    assert ck['args']['spacing'] == 4.0
    for name, value in seg.state_dict().items():
        assert torch.allclose(ck['model'][name], value, atol=1e-6), name


def test_window_normalization_fine_tunes_from_an_hu_2048_model_and_goes_into_the_card(tmp_path):
    """--window -160,240: the first step starts from the same function of HU inside the window (the
    image-facing convolutions rescaled), and the exported card tells the engine the new normalization."""
    pytest.importorskip('onnx')
    from export_onnx import build_card, load_weights, write_model_folder
    from scn.data import Normalization
    from scn.networks import LocalizationNet, SpatialConfigurationNet
    torch.manual_seed(4)
    loc, seg = LocalizationNet(), SpatialConfigurationNet(4)
    folder = str(tmp_path / 'model')
    write_model_folder(loc, seg, folder, build_card('t', '0', '', 'Apache-2.0', 'none', seg_spacing=4.0))
    out = str(tmp_path / 'run')
    _run(['--smoke', '--stage', 'segmentation', '--iterations', '1', '--lr', '1e-12', '--threads', '2', '--seed', '1',
          '--init-from', folder, '--spacing', '4', '--window=-160,240', '--out', out, '--log-every', '100'])
    tuned = SpatialConfigurationNet(4)
    ck = load_weights(os.path.join(out, 'checkpoint.pt'), tuned, use_ema=False)
    window = Normalization.of_run(ck['args'])
    assert (window.offset, window.scale) == (40.0, 200.0)
    hu = np.random.default_rng(0).uniform(-150, 230, (1, 1, 32, 32, 32)).astype(np.float32)
    seg.eval(), tuned.eval()
    with torch.no_grad():
        before = seg(torch.from_numpy(Normalization().apply(hu)))[3]
        after = tuned(torch.from_numpy(window.apply(hu)))[3]
    kept = float((before - after).abs().max())
    assert kept < 1e-4
    # the window alone, without the rescaling, changes the output far more: the rescaling is what keeps it
    with torch.no_grad():
        unscaled = seg(torch.from_numpy(window.apply(hu)))[3]
    assert float((before - unscaled).abs().max()) > 20 * kept
    card = build_card('t', '1', '', 'Apache-2.0', 'none', seg_spacing=4.0, seg_normalization=window.card())
    assert card['stages']['segmentation']['normalization'] == {'type': 'clip-scale', 'scale': 200.0, 'min': -1, 'max': 1, 'offset': 40.0}
    assert card['stages']['localization']['normalization'] == {'type': 'clip-scale', 'scale': 2048, 'min': -1, 'max': 1}
