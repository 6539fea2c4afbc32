"""Every command and every setting is documented."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import typer

from opendvi.app import OpenDVI
from opendvi.cli import app
from opendvi.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"


def command_names(group: typer.Typer, prefix: str = "opendvi") -> Iterator[str]:
    for command in group.registered_commands:
        assert command.callback is not None
        yield f"{prefix} {command.name or command.callback.__name__.replace('_', '-')}"
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        yield from command_names(sub.typer_instance, f"{prefix} {sub.name}")


def test_every_command_is_in_docs_cli_md() -> None:
    text = (DOCS / "cli.md").read_text()
    names = list(command_names(app))
    assert len(names) >= 12
    for name in names:
        assert f"`{name}" in text, f"{name} is not documented in docs/cli.md"


def test_every_setting_has_help_text_and_is_in_docs_settings_md() -> None:
    text = (DOCS / "settings.md").read_text()
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no help text"
        assert f"`OPENDVI_{name.upper()}`" in text, f"OPENDVI_{name.upper()} is not documented"


def test_the_readme_test_command_is_the_one_ci_runs() -> None:
    root = DOCS.parent
    command = "pip install -e '.[test]' && pytest"
    assert f"\n{command}\n" in (root / "README.md").read_text()
    assert f"\n{command}\n" in (root / ".ci" / "run").read_text()


def test_the_roles_in_docs_api_md_are_those_the_routes_declare(dvi: OpenDVI) -> None:
    """Each endpoint's row names the roles of the permission its route declares, in the
    words of ``core.roles``; every endpoint has a row and every row an endpoint."""
    import re

    from opendvi.core.roles import doc_words
    from opendvi.web import api_routes, create_app

    rows = dict(
        re.findall(
            r"^\| `((?:GET|POST) /api/[^`]+)` \| ([^|]+) \|", (DOCS / "api.md").read_text(), re.M
        )
    )
    assert len(rows) >= 20
    declared = {}
    for route in api_routes(create_app(dvi=dvi)):
        if not route.path.startswith("/api/") or not route.include_in_schema:
            continue
        path = route.path.replace(":path}", "}")
        for method in route.methods:
            declared[f"{method} {path}"] = doc_words(route.endpoint.opendvi_permission)
    assert {key: words.strip() for key, words in rows.items()} == declared
