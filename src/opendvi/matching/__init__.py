"""Candidate matching: every remains record against the missing-person reports (PM→AM) and
every report against the remains (AM→PM), by face and description, calibrated to a
false-candidate rate.

For one record, the faces of the other side are searched through a ``VectorIndex`` (the
best face pairs pick the records worth comparing in full); each of those, and every record
of the other side without a usable face, is then scored in full: face evidence fused over
all usable faces (``core.scoring``) plus every descriptive factor (``core.evidence``). A
record keeps the best ``candidates_per_record`` by total score and, so that description
never hides a strong face, the best as many by face alone. Each pair is stored once with
its rank in both directions.

A pair is *credible* when the estimated chance that a search of this many reports shows a
stranger scoring this high is at most ``candidate_max_rate``; the others are kept "below
threshold". Pairs a reviewer excluded stay excluded while their evidence is the same, and
come back flagged as *resurfaced* when it changes.
"""

from opendvi.matching.calibration import CalibrationInUse, calibrate, impostor_scores
from opendvi.matching.explain import Explanation, explain
from opendvi.matching.gallery import SideData, load_side
from opendvi.matching.run import MatchReport, run_matching

__all__ = [
    "CalibrationInUse",
    "Explanation",
    "MatchReport",
    "SideData",
    "calibrate",
    "explain",
    "impostor_scores",
    "load_side",
    "run_matching",
]
