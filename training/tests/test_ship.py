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
