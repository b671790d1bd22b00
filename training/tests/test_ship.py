"""ship_flare_organs.py: what a re-carded release carries over from the one it was made from."""
import json
import os

import ship_flare_organs as S


def release(tmp_path, cases):
    os.makedirs(tmp_path, exist_ok=True)
    json.dump({'id': 'scn-flare-organs', 'version': '1.0.0'}, open(tmp_path / 'model.json', 'w'))
    json.dump({'cases': cases}, open(tmp_path / 'evaluation.json', 'w'))
    return str(tmp_path)


def test_carried_rows_keep_the_demos_group_format_and_name_their_release(tmp_path):
    rows = [
        {'group': 'training-set real', 'case': 'a', 'organs': {}},
        {'group': S.COMPANION, 'case': 'slab', 'organs': {}},
        {'group': S.LOC_COMPANION, 'case': 'b, whole', 'organs': {}},
        {'group': f'{S.LOC_COMPANION[:-1]}, measured in scn-flare-organs 0.7.0)', 'case': 'c', 'organs': {},
         'measuredWith': 'scn-flare-organs 0.7.0 (x)'},
    ]
    out = S.carried_rows(release(tmp_path, rows), (S.COMPANION, S.LOC_COMPANION), '(before this card)')
    assert [r['case'] for r in out] == ['slab', 'b, whole', 'c']  # training-set rows are measured again, not carried
    # 'held-out real (how, measured in ...)': the demo's and the app's parser reads the case name after it
    assert out[0]['group'] == 'held-out real (leave-one-out companion run, measured in scn-flare-organs 1.0.0)'
    assert out[0]['measuredWith'] == 'scn-flare-organs 1.0.0 (before this card)'
    assert out[1]['group'].endswith(', measured in scn-flare-organs 1.0.0)')
    # a row the release itself carried keeps the release that measured it
    assert out[2] == rows[3]


def test_no_evaluation_no_rows(tmp_path):
    assert S.carried_rows(str(tmp_path), (S.COMPANION,), '') == []


def fake_run(path, window, exclude=''):
    """A segmentation run folder with a checkpoint of random weights and the args train.py records."""
    import torch
    from scn.networks import SpatialConfigurationNet
    os.makedirs(path, exist_ok=True)
    torch.manual_seed(0)
    state = SpatialConfigurationNet(4).state_dict()
    args = {'stage': 'segmentation', 'window': window, 'exclude': exclude, 'engine_crops': True, 'slab_ratio': 0.45,
            'phantoms': 8, 'phantom_ratio': 0.2, 'real_weight': 4, 'seed': 93, 'threads': 2, 'lr': 3e-4, 'ema': 0.999,
            'spacing': 4.0, 'init_from': None}
    torch.save({'model': state, 'ema': state, 'iteration': 7, 'args': args, 'extra': {'seconds': 12.0}}, os.path.join(path, 'checkpoint.pt'))
    return str(path)


class Args:
    run_spacing = 3.5
    initialised_from = ''


def test_an_ensemble_member_is_exported_next_to_the_card_and_recorded(tmp_path):
    import onnx
    card = {'stages': {'segmentation': {'file': 'segmentation.onnx', 'normalization': {'type': 'clip-scale', 'scale': 200.0, 'min': -1, 'max': 1, 'offset': 40.0}}},
            'training': {}}
    Args.out = str(tmp_path / 'out')
    os.makedirs(Args.out)
    info = S.add_ensemble_member(fake_run(tmp_path / 'run', '-160,240', 'amos_0018'), Args, card)
    assert card['stages']['segmentation']['ensembleFiles'] == ['segmentation-2.onnx']
    m = onnx.load(os.path.join(Args.out, 'segmentation-2.onnx'))
    assert [o.name for o in m.graph.output] == ['probs']
    assert info['file'] == 'segmentation-2.onnx' and info['iterations'] == 7 and info['seed'] == 93
    assert info['heldOut'] == ['amos_0018'] and info['runSpacingMm'] == 3.5
    assert card['training']['ensemble'] == [info]
    # a second member gets the next name
    S.add_ensemble_member(fake_run(tmp_path / 'run2', '-160,240'), Args, card)
    assert card['stages']['segmentation']['ensembleFiles'] == ['segmentation-2.onnx', 'segmentation-3.onnx']


def test_an_ensemble_member_must_read_its_input_as_the_card_does(tmp_path):
    import pytest
    card = {'stages': {'segmentation': {'file': 'segmentation.onnx', 'normalization': {'type': 'clip-scale', 'scale': 2048.0, 'min': -1, 'max': 1}}},
            'training': {}}
    Args.out = str(tmp_path)
    with pytest.raises(SystemExit, match='input normalization'):
        S.add_ensemble_member(fake_run(tmp_path / 'run', '-160,240'), Args, card)
    assert 'ensembleFiles' not in card['stages']['segmentation']


def test_the_card_records_which_phantoms_a_run_trained_on(tmp_path):
    import torch
    ck = torch.load(os.path.join(fake_run(tmp_path / 'run', '-160,240'), 'checkpoint.pt'))
    assert 'phantomThorax' not in S.run_info(ck, Args)
    ck['args']['phantom_thorax'] = True
    assert 'heart' in S.run_info(ck, Args)['phantomThorax']


def test_evaluation_rows_carry_the_engines_doubt_beside_the_scores():
    organs = {'liver': {'present': True, 'dice': 0.93}, 'pancreas': {'present': False, 'volumePredMl': 0.0}}
    report = {'organs': [{'value': 1, 'name': 'liver', 'voxels': 9, 'volumeMl': 1.0, 'unsureFraction': 0.07},
                         {'value': 4, 'name': 'pancreas', 'voxels': 0, 'volumeMl': 0.0, 'unsureFraction': 0}]}
    out = S.with_doubt(organs, report)
    assert out['liver'] == {'present': True, 'dice': 0.93, 'unsureFraction': 0.07}
    assert out['pancreas']['unsureFraction'] == 0
    assert organs['liver'] == {'present': True, 'dice': 0.93}  # the scores are not changed in place
    # an engine before the review hint reports no share: the rows stay as they were
    assert S.with_doubt(organs, {'organs': [{'value': 1, 'name': 'liver', 'voxels': 9, 'volumeMl': 1.0}]}) == organs
