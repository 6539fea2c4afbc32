"""Built-in impostor distributions for known face models, used until a database holds
enough reports of its own to calibrate on (see ``opendvi.matching.calibrate``)."""

from __future__ import annotations

from typing import Any

from opendvi.core.scoring import Calibration

__all__ = ["prior_for"]

PRIORS: dict[tuple[str, str], dict[str, Any]] = {}


def prior_for(model_name: str, model_version: str) -> Calibration | None:
    for (name, version_prefix), params in PRIORS.items():
        if model_name == name and model_version.startswith(version_prefix):
            return Calibration.from_json(params)
    return None
