"""Telling families: notification tasks opened by a confirmed identification, words drafted
in the family's language and approved by a second person, visits, calls, letters and
e-mails recorded, and nothing ever sent without consent or with a picture.

    from opendvi.notify import approve, record_step, save_words, send, task_view
"""

from opendvi.notify.contacts import ContactView, reader_role, reveal_contact
from opendvi.notify.drafting import (
    approve,
    open_for_identification,
    plan,
    redraft,
    save_words,
    set_checklist,
)
from opendvi.notify.mail import transport_for
from opendvi.notify.queue import (
    TaskChange,
    TaskSummary,
    TaskView,
    alerts,
    family_photos,
    task_view,
    tasks,
)
from opendvi.notify.revocation import cancel_for_contacts, cancel_for_revocation
from opendvi.notify.task import unreached
from opendvi.notify.telling import close, mark_alert_seen, record_step, send

__all__ = [
    "ContactView",
    "TaskChange",
    "TaskSummary",
    "TaskView",
    "alerts",
    "approve",
    "cancel_for_contacts",
    "cancel_for_revocation",
    "close",
    "family_photos",
    "mark_alert_seen",
    "open_for_identification",
    "plan",
    "reader_role",
    "record_step",
    "redraft",
    "reveal_contact",
    "save_words",
    "send",
    "set_checklist",
    "task_view",
    "tasks",
    "transport_for",
    "unreached",
]
