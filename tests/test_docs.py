"""Every command and every setting is documented."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import typer

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
