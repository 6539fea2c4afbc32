"""`opendvi serve` at its start: a port in use stops it before anything is made, and the
first administrator is named as created."""

from __future__ import annotations

from typing import Any


def test_serve_on_a_port_in_use_exits_with_an_error_before_creating_anything(
    cli: Any, dvi: Any
) -> None:
    import socket

    from sqlalchemy import func, select

    from opendvi.db.tables import User

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        result = cli("serve", "--port", str(port))
    finally:
        taken.close()
    assert result.exit_code != 0
    assert f"port {port}" in result.output and "--port" in result.output
    with dvi.db.read() as session:
        admins = select(func.count()).select_from(User).where(User.role == "admin")
        assert session.execute(admins).scalar_one() == 0  # no administrator made


def test_the_first_administrator_is_named_as_created(dvi: Any) -> None:
    """With a user 'admin' who is no administrator, the first administrator gets another
    name, and that name is the one given back (and printed by serve)."""
    from opendvi.people import add_user, ensure_admin

    add_user(dvi, username="admin", role="caseworker", actor="test", password="x" * 12)
    created = ensure_admin(dvi, actor="serve")
    assert created is not None and created.username.startswith("admin-")
    assert ensure_admin(dvi, actor="serve") is None
