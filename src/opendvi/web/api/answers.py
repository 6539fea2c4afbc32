"""What every answer of the API is made from: the use-cases' views, read by attribute; the
moments in them, in UTC with the zone said; and the errors each route declares it may give
(``errors(401, 404, 422)``), with their bodies."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = ["Answer", "Message", "Moment", "Problem", "Unreadable", "errors"]


def _in_utc(moment: dt.datetime) -> dt.datetime:
    # Times are stored in UTC; SQLite gives them back without their zone, PostgreSQL with it.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


Moment = Annotated[dt.datetime, AfterValidator(_in_utc)]
"""A moment as the API answers it: in UTC, with the zone (RFC 3339, ``…Z``)."""


class Answer(BaseModel):
    """An answer filled from a use-case's view (``Answer.model_validate(view)``)."""

    model_config = ConfigDict(from_attributes=True)


class Message(BaseModel):
    """An error: what is wrong and what to do."""

    detail: str = Field(description="What happened, and what to do next")


class Problem(Message):
    """A value the use-case cannot use."""

    field: str | None = Field(None, description="The field that cannot be used, when one is")


class Mistake(BaseModel):
    loc: list[str | int] = Field(description="Where: body, path or query, then the name")
    msg: str
    type: str


class Unreadable(BaseModel):
    """A request not of the shape the description gives, refused before any use-case."""

    detail: list[Mistake]


_ERRORS: dict[int, tuple[Any, str]] = {
    400: (Message, "The body cannot be read as text (it is not UTF-8)"),
    401: (Message, "Not signed in (or the session has ended): sign in first"),
    403: (
        Message,
        "The role may not use this endpoint, or a change came without this session's "
        "CSRF token in X-CSRF-Token",
    ),
    404: (Message, "No such candidate, identification, record or notification task"),
    409: (Message, "Refused by a rule in the present state (docs/api.md, Errors)"),
    422: (
        Problem | Unreadable,
        "A value cannot be used: as the use-case says (detail, and field naming it), or "
        "not of the described shape (detail lists where)",
    ),
}


def errors(*statuses: int, **models: Any) -> dict[int | str, dict[str, Any]]:
    """The error answers a route may give, each with its body; ``models`` replaces the
    body of one (``_422=...``)."""
    declared: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        model, description = _ERRORS[status]
        declared[status] = {"model": models.get(f"_{status}", model), "description": description}
    return declared
