"""The exceptions OpenDVI raises on purpose, each with a message a user can act on."""

from __future__ import annotations

__all__ = [
    "AuditChainBroken",
    "DatabaseError",
    "FormProblems",
    "InputError",
    "NotFound",
    "NotSignedIn",
    "OpenDVIError",
    "PhotoError",
    "Refused",
    "SetupError",
]


class OpenDVIError(Exception):
    """Base of every error OpenDVI raises on purpose; ``str()`` is the user-facing message."""

    http_status = 500


class InputError(OpenDVIError):
    """A value given by a user cannot be used; the message names the field and the fix."""

    http_status = 422

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class FormProblems(InputError):
    """Several fields of one record cannot be used: ``problems`` holds each with what is
    wrong; the message and ``field`` name the first, in the form's order."""

    def __init__(self, problems: dict[str, str], *, order: tuple[str, ...] = ()) -> None:
        first = next(f for f in (*order, *problems) if f in problems)
        super().__init__(f"{first}: {problems[first]}", field=first)
        self.problems = dict(problems)


class PhotoError(InputError):
    """A photo file cannot be stored: missing, unreadable, too large, not an image."""


class NotFound(OpenDVIError):
    http_status = 404


class Refused(OpenDVIError):
    """The action is not allowed in the record's present state or for this user."""

    http_status = 409


class NotSignedIn(OpenDVIError):
    """Nobody is signed in where the action needs a user (the command line's
    ``opendvi login``)."""

    http_status = 401


class DatabaseError(OpenDVIError):
    """The database cannot be opened or is at an unknown schema version."""

    http_status = 503


class SetupError(OpenDVIError):
    """The installation is not as it must be (a file damaged, a setting impossible); the
    message says what to do."""

    http_status = 500


class AuditChainBroken(OpenDVIError):
    """The audit log does not verify: a row was changed, removed or inserted out of band."""

    http_status = 500
