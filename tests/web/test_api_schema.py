"""The API against its own OpenAPI description, by schemathesis: generated requests (valid
ones, and ones that break the schema on purpose) to every operation, signed in, with the
CSRF header. No answer is a server error, and every answer (status, content type, body)
is one the description declares.

On SQLite and, in the PostgreSQL run, on PostgreSQL too: the databases refuse different
values (PostgreSQL refuses a NUL character in text, SQLite does not), so each run can find
what the other cannot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
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
    signed in (every operation is open to them), and the headers their requests carry."""
    site = build_site(dvi, tmp_path, families=True)
    web = client(site, "admin")
    headers = {
        "cookie": f"opendvi_session={web.cookies['opendvi_session']}",
        "x-csrf-token": csrf_of(web.get("/").text),
    }
    return {"app": site["app"], "headers": headers}


@pytest.fixture
def api_schema(signed_in_api: dict[str, Any]) -> Any:
    """The description as a signed-in user reads it (it is not served to anyone else)."""
    return schemathesis.openapi.from_asgi(
        "/api/openapi.json", signed_in_api["app"], headers=signed_in_api["headers"]
    )


# Bounded and repeatable: a few requests per operation and kind (valid, invalid), the same
# ones every run, nothing remembered between runs.
BOUNDED = settings(
    max_examples=10,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def test_no_api_answer_is_a_server_error_or_one_its_description_does_not_declare(
    signed_in_api: dict[str, Any],
) -> None:
    # Each operation in turn, rather than schemathesis's pytest parametrisation: its
    # schema from a fixture does not run under pytest 9.2, and one site for all of them
    # keeps the test short.
    api = schemathesis.openapi.from_asgi(
        "/api/openapi.json", signed_in_api["app"], headers=signed_in_api["headers"]
    )
    failures: dict[str, str] = {}
    for methods in api.values():
        for operation in methods.values():
            cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
                GenerationMode.NEGATIVE
            )

            @BOUNDED
            @given(case=cases)
            def answers_as_described(case: schemathesis.Case) -> None:
                case.call_and_validate(headers=dict(signed_in_api["headers"]), checks=CHECKS)

            try:
                answers_as_described()
            # A check that fails, or the application's own exception (a server error):
            # every operation's, reported together below, with the request that caused it.
            except (FailureGroup, Exception) as failure:
                notes = "\n".join(getattr(failure, "__notes__", []))
                failures[operation.label] = f"{type(failure).__name__}: {failure}\n{notes}"
    assert len(api) >= 20
    assert not failures, "\n\n".join(f"{label}:\n{why}" for label, why in failures.items())
