"""Built-in impostor distributions for known face models, used until a database holds
enough reports of its own to calibrate on (see ``opendvi.matching.calibrate``).

``prior-dlib-resnet-v1.json`` (dlib's ResNet): fitted by `opendvi match --all` on 4,957
missing-person reports built from LFW by ``benchmarks/accuracy.py`` (seed 7), 16,929,696
pairs of different reports. Only summary numbers of the score distribution are kept, no
face or embedding.
"""

from __future__ import annotations

import json
from pathlib import Path

from opendvi.core.scoring import Calibration

__all__ = ["prior_for"]

HERE = Path(__file__).parent
PRIORS = {("dlib", "resnet-v1/"): HERE / "prior-dlib-resnet-v1.json"}


def prior_for(model_name: str, model_version: str) -> Calibration | None:
    for (name, version_prefix), path in PRIORS.items():
        if model_name == name and model_version.startswith(version_prefix):
            return Calibration.from_json(json.loads(path.read_text()))
    return None
