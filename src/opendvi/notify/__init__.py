"""Telling families: notification tasks opened by a confirmed identification, words drafted
in the family's language and approved by a second person, visits, calls, letters and
e-mails recorded, and nothing ever sent without consent or with a picture.

    from opendvi.notify import approve, record_step, save_words, send
"""

from opendvi.notify.tasks import (
    NOTIFY_ROLES,
    approve,
    cancel_for_contacts,
    cancel_for_revocation,
    close,
    open_for_identification,
    plan,
    record_step,
    redraft,
    save_words,
    send,
    set_checklist,
    unreached,
)

__all__ = [
    "NOTIFY_ROLES",
    "approve",
    "cancel_for_contacts",
    "cancel_for_revocation",
    "close",
    "open_for_identification",
    "plan",
    "record_step",
    "redraft",
    "save_words",
    "send",
    "set_checklist",
    "transport",
    "unreached",
]


def transport(settings: object) -> object:
    """The way e-mails leave: the mail server if one is set, else the outbox folder."""
    from opendvi.notify.mail import Outbox, Smtp

    host = getattr(settings, "smtp_host", "")
    if host:
        password = getattr(settings, "smtp_password", None)
        return Smtp(
            host,
            getattr(settings, "smtp_port", 25),
            user=getattr(settings, "smtp_user", ""),
            password=password.get_secret_value() if password is not None else "",
            starttls=getattr(settings, "smtp_starttls", False),
        )
    return Outbox(settings.resolved_outbox_dir())  # type: ignore[attr-defined]
