"""What a request carries, checked before any route: no text with a NUL character. No text
OpenDVI keeps may hold one (PostgreSQL refuses it), so a path, a query, a form field, a
file's name or a JSON body that carries one is refused here, naming where it is, rather
than failing in the database."""

from __future__ import annotations

import json
from collections.abc import Iterator

from fastapi import Request
from starlette.datastructures import UploadFile

from opendvi.errors import InputError

__all__ = ["no_nul"]

NUL = "\x00"


def _refused(where: str) -> InputError:
    field = where.replace(NUL, "\\x00")  # a name with the character is named without it
    return InputError(
        f"{field}: contains a NUL character (\\x00), which no text may hold; remove it and "
        "send it again",
        field=field,
    )


def _in_json(value: object, where: str) -> Iterator[str]:
    """Where in a JSON value a text (or a name) holds a NUL character."""
    if isinstance(value, str):
        if NUL in value:
            yield where
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}" if where else str(key)
            if NUL in str(key):
                yield inner
            yield from _in_json(item, inner)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _in_json(item, f"{where}.{n}" if where else str(n))


async def no_nul(request: Request) -> None:
    """Runs before every route, after the guard: the request's text holds no NUL."""
    params = [*request.path_params.items(), *request.query_params.multi_items()]
    for name, value in params:
        if NUL in name or NUL in str(value):
            raise _refused(name)
    kind = request.headers.get("content-type", "")
    if "form" in kind:
        for name, field in (await request.form()).multi_items():
            text = (field.filename or "") if isinstance(field, UploadFile) else field
            if NUL in name or NUL in text:
                raise _refused(name)
    elif "json" in kind:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return  # not JSON: the route's own reading says so
        for where in _in_json(body, ""):
            raise _refused(where or "body")
