"""Retention: biometric data of closed reports, photos of remains after their release and
contact details after the case is closed are erased once their setting's days have passed;
``opendvi retention --dry-run`` lists what would go, ``--apply`` erases it, audited."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.fields import ContactInput
from opendvi.db.tables import AuditEvent, Contact, Face, MissingPerson, Photo, Remains
from opendvi.errors import Refused
from opendvi.records import close_case, release_remains
from opendvi.records.intake import save_record
from opendvi.retention import apply_retention, plan_retention
from opendvi.settings import Settings
from tests.factories import build_site, login

LATER = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)


@pytest.fixture
def site(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    site = build_site(dvi, tmp_path)
    with dvi.db.write() as session:
        save_record(
            session,
            MissingPerson,
            actor="test",
            ref="AM-0",
            fields={"full_name": "Juan Lopez"},
            contacts=[ContactInput(name="Maria Lopez", email="maria@example.org")],
        )
    return site


def kept(settings: Settings, **days: int) -> OpenDVI:
    return OpenDVI.open(settings.model_copy(update=days))


def test_retention_is_off_unless_a_setting_says_how_long(
    site: dict[str, Any], dvi: OpenDVI
) -> None:
    close_case(dvi, "missing", "AM-0", actor="caseworker")
    assert plan_retention(dvi, now=LATER).empty


def test_a_dry_run_lists_what_would_go_and_erases_nothing(
    site: dict[str, Any], settings: Settings
) -> None:
    dvi = kept(
        settings,
        retention_biometric_days=30,
        retention_remains_photos_days=30,
        retention_contacts_days=30,
    )
    close_case(dvi, "missing", "AM-0", actor="caseworker")
    close_case(dvi, "remains", "PM-0", actor="forensic")  # buried unidentified, say
    release_remains(dvi, "PM-0", actor="forensic")
    assert plan_retention(dvi).empty  # closed today: not yet
    plan = plan_retention(dvi, now=LATER)
    assert [(k.kind, k.refs, k.photos) for k in plan.kinds if k.photos] == [
        ("biometric", ["AM-0"], 1),
        ("remains_photos", ["PM-0"], 1),
    ]
    assert [(k.refs, k.contacts) for k in plan.kinds if k.contacts] == [(["AM-0"], 1)]
    with dvi.db.read() as session:
        assert len(session.execute(select(Photo)).scalars().all()) == 4
    dvi.close()


def test_apply_erases_photos_faces_and_contact_details_and_audits_each(
    site: dict[str, Any], settings: Settings
) -> None:
    ids = site["ids"]
    dvi = kept(
        settings,
        retention_biometric_days=30,
        retention_remains_photos_days=30,
        retention_contacts_days=30,
    )
    close_case(dvi, "missing", "AM-0", actor="caseworker")
    close_case(dvi, "remains", "PM-0", actor="forensic")
    release_remains(dvi, "PM-0", actor="forensic")  # PM-0 holds the same photo as AM-0
    with dvi.db.read() as session:
        photo = session.get(Photo, ids["am0-photo"])
        assert photo is not None
        files = [dvi.media.path(photo.sha256), dvi.media.path(photo.served_sha256)]
    done = apply_retention(dvi, actor="cli:operator", now=LATER)
    assert (done.photos, done.contacts) == (2, 1)
    assert not any(f.exists() for f in files)
    with dvi.db.read() as session:
        assert session.get(Photo, ids["am0-photo"]) is None
        assert (
            session.execute(select(Face).where(Face.photo_id == ids["am0-photo"])).first() is None
        )
        contact = session.execute(select(Contact)).scalar_one()
        assert (contact.name, contact.email) == ("", "")
        record = session.get(MissingPerson, ids["am0"])
        assert record is not None and record.full_name == "Juan Lopez"  # not a contact detail
        actions = [
            e.action
            for e in session.execute(select(AuditEvent).where(AuditEvent.entity_ref == "AM-0"))
            .scalars()
            .all()
        ]
    assert "photo.erased" in actions and "missing_person.contacts_erased" in actions
    assert plan_retention(dvi, now=LATER).empty  # done once
    assert audit.verify_chain(dvi).ok
    dvi.close()


def test_closing_and_releasing_are_audited_and_checked(site: dict[str, Any], dvi: OpenDVI) -> None:
    close_case(dvi, "missing", "AM-0", actor="caseworker")
    with pytest.raises(Refused, match="already closed"):
        close_case(dvi, "missing", "AM-0", actor="caseworker")
    with pytest.raises(Refused, match="only a forensic specialist or an admin"):
        release_remains(dvi, "PM-0", actor="caseworker")
    with pytest.raises(Refused, match="PM-0 is open; remains are released once identified"):
        release_remains(dvi, "PM-0", actor="forensic")
    close_case(dvi, "remains", "PM-0", actor="forensic")
    release_remains(dvi, "PM-0", actor="forensic")
    with dvi.db.read() as session:
        record = session.execute(select(Remains).where(Remains.ref == "PM-0")).scalar_one()
        assert record.released_at is not None
        report = session.execute(select(MissingPerson).where(MissingPerson.ref == "AM-0"))
        assert report.scalar_one().closed_at is not None
    assert {e.action for e in audit.events(dvi, limit=4)} >= {
        "missing_person.closed",
        "remains.released",
    }


def test_the_command_lists_then_applies(
    site: dict[str, Any], cli: Any, cli_env: dict[str, str]
) -> None:
    login(cli, "caseworker")
    assert cli("close", "missing", "AM-0").exit_code == 0
    cli_env["OPENDVI_RETENTION_BIOMETRIC_DAYS"] = "0"
    listed = cli("retention", "--dry-run")
    assert listed.exit_code == 0, listed.output
    assert "AM-0" in listed.output and "1 photo" in listed.output
    assert "nothing was erased" in listed.output
    applied = cli("retention", "--apply", "--quiet")
    assert applied.exit_code == 0, applied.output
    assert "erased" in applied.output
    assert "nothing to erase" in cli("retention", "--dry-run").output
    assert cli("retention").exit_code != 0  # neither --dry-run nor --apply


def test_revoking_the_identification_opens_a_closed_case_again(
    dvi: OpenDVI, tmp_path: Path
) -> None:
    from opendvi.review import revoke_identification

    site = build_site(dvi, tmp_path, families=True)
    close_case(dvi, "missing", "AM-1", actor="caseworker")
    revoke_identification(
        dvi, site["ids"]["identification"], reason="DNA mix-up", username="reviewer"
    )
    with dvi.db.read() as session:
        record = session.execute(select(MissingPerson).where(MissingPerson.ref == "AM-1"))
        report = record.scalar_one()
        assert (report.status, report.closed_at) == ("open", None)
