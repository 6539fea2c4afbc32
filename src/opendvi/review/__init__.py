"""Review: the queue of candidates and one pair compared, reviewers' decisions on pairs
(exclude, refer for primary identifiers, a blind judgement), and identifications proposed,
confirmed by two other reviewers, objected to, and revoked.

    from opendvi.review import exclude, propose_identification, review_queue
"""

from opendvi.review.decisions import VERDICTS, Decided, Judged, Pair, exclude, judge, refer
from opendvi.review.identifications import (
    IdentificationDetail,
    IdentificationView,
    identification,
    identifications,
    why_not_confirm,
)
from opendvi.review.identify import (
    confirm_identification,
    object_to_identification,
    propose_identification,
    revoke_identification,
)
from opendvi.review.queue import Comparison, QueuePage, comparison, review_queue

__all__ = [
    "VERDICTS",
    "Comparison",
    "Decided",
    "IdentificationDetail",
    "IdentificationView",
    "Judged",
    "Pair",
    "QueuePage",
    "comparison",
    "confirm_identification",
    "exclude",
    "identification",
    "identifications",
    "judge",
    "object_to_identification",
    "propose_identification",
    "refer",
    "review_queue",
    "revoke_identification",
    "why_not_confirm",
]
