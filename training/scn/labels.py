"""
The label table of SCN Studio (mirror of src-main/labels.ts FLARE_LABELS; a vitest test checks that
the model card written from this table equals the TypeScript one). Values never change.
"""
FLARE_LABELS = [
    {'value': 1, 'name': 'liver', 'color': [221, 130, 101], 'snomed': {'code': '10200004', 'meaning': 'Liver'}},
    {'value': 2, 'name': 'kidney', 'color': [120, 160, 205], 'snomed': {'code': '64033007', 'meaning': 'Kidney'}},
    {'value': 3, 'name': 'spleen', 'color': [157, 108, 162], 'snomed': {'code': '78961009', 'meaning': 'Spleen'}},
    {'value': 4, 'name': 'pancreas', 'color': [249, 180, 111], 'snomed': {'code': '15776009', 'meaning': 'Pancreas'}},
]

# TotalSegmentator (v2 ids, as in example_seg_fast_force_split.nii.gz) -> FLARE values
TOTALSEGMENTATOR_TO_FLARE = {5: 1, 2: 2, 3: 2, 1: 3, 7: 4}


def parse_label_map(text: str) -> dict:
    """'5:1,2:2,3:2' -> {5: 1, 2: 2, 3: 2}. Source values not listed become background (0)."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(','))):
        if ':' not in part:
            raise ValueError(f'label map entry "{part}" is not of the form source:target')
        a, b = part.split(':', 1)
        out[int(a)] = int(b)
    return out
