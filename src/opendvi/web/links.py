"""The addresses the pages link to: a candidate pair by its two references, which survive
the pair being matched again (its number is only kept while it stays listed)."""

from __future__ import annotations

from urllib.parse import quote, unquote

from fastapi import Request

__all__ = ["candidate_url", "pair_path"]


def candidate_url(pm_ref: str, am_ref: str, *, api: bool = False) -> str:
    """``/candidates/PM-2026-017/AM-2026-001``: each reference quoted whole, so one holding a
    ``/`` or ``#`` stays one path segment."""
    prefix = "/api/candidates" if api else "/candidates"
    return f"{prefix}/{quote(pm_ref, safe='')}/{quote(am_ref, safe='')}"


def pair_path(request: Request, pm_ref: str, am_ref: str) -> tuple[str, str] | str:
    """The references a pair address names: read from the path as it was sent, where a
    quoted ``/`` inside a reference is still ``%2F``; when the two segments cannot be told
    apart there (a ``/`` sent unquoted), the joined text for the library to split."""
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes):
        sent = raw.decode("latin-1")
        _, found, rest = sent.partition("/candidates/")
        parts = rest.split("/") if found else []
        if len(parts) == 2 and all(parts):
            return unquote(parts[0]), unquote(parts[1])
    return f"{pm_ref}/{am_ref}" if "/" in am_ref else (pm_ref, am_ref)
