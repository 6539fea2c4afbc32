"""The API against its own OpenAPI description, by schemathesis: generated requests (valid
ones, and ones that break the schema on purpose) to every operation, signed in, with the
CSRF header. No answer is a server error, and every answer (status, content type, body)
is one the description declares.

On SQLite and, in the PostgreSQL run, on PostgreSQL too: the databases refuse different
values (PostgreSQL's keys are 32 bits, SQLite's 64; PostgreSQL holds no NUL character in
text), so each run can find what the other cannot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.strategies import SearchStrategy
from schemathesis import APIOperation, BaseSchema, Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.errors import FailureGroup

from opendvi.app import OpenDVI
from tests.factories import build_site, client, csrf_of

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def signed_in_api(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    """The families' site (a confirmed identification, a notification task), an admin
    signed in (every operation is open to them), the headers their requests carry, and
    the path values of rows that exist."""
    site = build_site(dvi, tmp_path, families=True)
    web = client(site, "admin")
    headers = {
        "cookie": f"opendvi_session={web.cookies['opendvi_session']}",
        "x-csrf-token": csrf_of(web.get("/").text),
    }
    ids = site["ids"]
    stored = {
        "candidate_id": ids["candidate"],
        "number": ids["identification"],
        "task_id": ids["task"],
        "kind": "remains",
        "ref": "PM-0",
        "pm_ref": "PM-0",
        "am_ref": "AM-0",
    }
    return {"app": site["app"], "headers": headers, "stored": stored}


# Bounded and repeatable: a few requests per operation and kind, the same ones every run,
# nothing remembered between runs.
BOUNDED = settings(
    max_examples=20,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def cases_for(operation: APIOperation, stored: dict[str, Any]) -> SearchStrategy[Case]:
    """Valid requests and invalid ones, with any path values; and valid ones on rows that
    exist, so that the use-cases behind the routes are reached, not only their guards."""
    known = {p.name: stored[p.name] for p in operation.path_parameters if p.name in stored}
    return (
        operation.as_strategy(GenerationMode.POSITIVE)
        | operation.as_strategy(GenerationMode.NEGATIVE)
        | operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known)
    )


def in_order(api: BaseSchema) -> list[APIOperation]:
    """Reads first, then changes, the revocation last (it cancels the notification task
    the other changes work on); otherwise in the description's order."""
    operations = [operation for methods in api.values() for operation in methods.values()]
    return sorted(operations, key=lambda op: (op.method != "get", op.path.endswith("/revoke")))


def test_no_api_answer_is_a_server_error_or_one_its_description_does_not_declare(
    signed_in_api: dict[str, Any],
) -> None:
    # Each operation in turn, rather than schemathesis's pytest parametrisation: a schema
    # from a fixture does not run under pytest 9.2, and one site for all of them keeps the
    # test short.
    api = schemathesis.openapi.from_asgi(
        "/api/openapi.json", signed_in_api["app"], headers=signed_in_api["headers"]
    )
    failures: dict[str, str] = {}
    answered: dict[str, set[int]] = {}
    for operation in in_order(api):

        @BOUNDED
        @given(case=cases_for(operation, signed_in_api["stored"]))
        def answers_as_described(case: Case) -> None:
            answer = case.call_and_validate(headers=dict(signed_in_api["headers"]), checks=CHECKS)
            answered.setdefault(case.operation.label, set()).add(answer.status_code)

        try:
            answers_as_described()
        # A check that fails, or the application's own exception (a server error): every
        # operation's, reported together below, with the request that caused it.
        except (FailureGroup, Exception) as failure:
            notes = "\n".join(getattr(failure, "__notes__", []))
            failures[operation.label] = f"{type(failure).__name__}: {failure}\n{notes}"
    assert not failures, "\n\n".join(f"{label}:\n{why}" for label, why in failures.items())
    # Signed in, with the CSRF token: no operation was refused by the guard, and each read
    # answered with what it reads.
    assert len(answered) == len(in_order(api)) >= 25
    assert not [label for label, statuses in answered.items() if statuses & {401, 403}]
    assert all(200 in answered[op.label] for op in in_order(api) if op.method == "get")
