"""What OpenDVI keeps on disk is readable by its owner only: the data directory, the
database and its journal, the photo store, the outbox and the session key (issue 13,
finding 14); a session key file that is cut short is refused, not used."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from opendvi.app import OpenDVI
from opendvi.db.tables import MissingPerson
from opendvi.errors import OpenDVIError
from opendvi.notify.mail import Outbox, plain_message
from opendvi.records.intake import save_record
from opendvi.settings import Settings
from tests.factories import jpeg_bytes


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_everything_kept_on_disk_is_for_its_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    dvi = OpenDVI.open(Settings(data_dir=data))
    try:
        with dvi.db.write() as session:
            save_record(session, MissingPerson, actor="t", ref="AM-1", fields={})
        sha = dvi.media.put(jpeg_bytes())
        dvi.settings.resolved_secret_key()
        sent = Outbox(dvi.settings.resolved_outbox_dir()).deliver(
            plain_message(sender="a@b.org", to="c@d.org", subject="s", text="t", language="en")
        )
        files = [
            data / "opendvi.sqlite3",
            data / "opendvi.sqlite3-wal",
            data / "secret_key",
            dvi.media.path(sha),
            Path(sent.removeprefix("written to ")),
        ]
        folders = [
            data,
            dvi.media.root,
            dvi.media.path(sha).parent,
            dvi.settings.resolved_outbox_dir(),
        ]
        assert {str(f): oct(mode(f)) for f in files} == {str(f): oct(0o600) for f in files}
        assert {str(f): oct(mode(f)) for f in folders} == {str(f): oct(0o700) for f in folders}
    finally:
        dvi.close()


def test_a_session_key_file_cut_short_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    (tmp_path / "secret_key").write_text("")
    with pytest.raises(OpenDVIError, match=r"secret_key.*shorter than 32"):
        settings.resolved_secret_key()
    (tmp_path / "secret_key").unlink()
    key = settings.resolved_secret_key()
    assert len(key) >= 32 and (tmp_path / "secret_key").read_text() == key


def test_opendvi_info_says_who_may_read_the_data(cli: object, settings: Settings) -> None:
    shown = cli("info")  # type: ignore[operator]
    assert shown.exit_code == 0, shown.output
    assert "readable by its owner only" in shown.stdout
