"""Saving records: created, updated or unchanged, each change audited with digests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.fields import ContactInput, MarkInput
from opendvi.db.tables import AuditEvent, MissingPerson, Photo
from opendvi.records import store_photo
from opendvi.records.intake import save_record, snapshot
from tests.factories import write_photo


def events(dvi: OpenDVI) -> list[AuditEvent]:
    with dvi.db.read() as session:
        return list(session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars())


def save(dvi: OpenDVI, **values: object) -> str:
    with dvi.db.write() as session:
        return save_record(
            session, MissingPerson, actor="caseworker-1", ref="AM-1", **values
        ).outcome


def test_saving_the_same_values_twice_changes_nothing(dvi: OpenDVI) -> None:
    fields = {"full_name": "Ana Duarte", "sex": "F"}
    assert save(dvi, fields=fields) == "created"
    assert save(dvi, fields=fields) == "unchanged"
    assert [e.action for e in events(dvi)] == ["missing_person.created"]


def test_an_update_is_audited_with_what_changed_and_digests(dvi: OpenDVI) -> None:
    save(dvi, fields={"full_name": "Ana Duarte", "height_min_cm": 160, "height_max_cm": 165})
    assert save(dvi, fields={"height_min_cm": 162, "height_max_cm": 165}) == "updated"
    created, updated = events(dvi)
    assert updated.action == "missing_person.updated" and updated.actor == "caseworker-1"
    assert updated.details["changed"] == ["height_min_cm"]
    assert updated.before_digest == created.after_digest
    with dvi.db.read() as session:
        record = session.execute(select(MissingPerson)).scalar_one()
        assert updated.after_digest == audit.digest(snapshot(record))


def test_contacts_marks_and_effects_are_kept_with_the_report(dvi: OpenDVI) -> None:
    save(
        dvi,
        fields={"birth_earliest": dt.date(2008, 1, 1), "birth_latest": dt.date(2008, 12, 31)},
        contacts=[ContactInput("Rui Duarte", "father", language="pt", consent_contact=True)],
        marks=[MarkInput("left forearm", "anchor tattoo", "tattoo")],
        effects=["red jacket"],
        event_code="FLOOD-2026",
    )
    with dvi.db.read() as session:
        record = session.execute(select(MissingPerson)).scalar_one()
        assert record.contacts[0].relationship_ == "father"
        assert record.contacts[0].consent_contact is True
        assert record.marks[0].body_location == "left forearm"
        assert record.effects[0].description == "red jacket"
        assert record.event is not None and record.event.code == "FLOOD-2026"
    assert [e.action for e in events(dvi)] == ["event.created", "missing_person.created"]


def test_a_withdrawn_consent_is_not_given_back_by_a_silent_import(dvi: OpenDVI) -> None:
    save(dvi, fields={}, contacts=[ContactInput("Rui", consent_contact=True)])
    save(dvi, fields={}, contacts=[ContactInput("Rui", consent_contact=False)])
    save(dvi, fields={}, contacts=[ContactInput("Rui", consent_contact=None)])
    with dvi.db.read() as session:
        contact = session.execute(select(MissingPerson)).scalar_one().contacts[0]
        assert contact.consent_contact is False and contact.consent_withdrawn_at is not None


def test_a_photo_no_longer_listed_is_erased_and_comes_back_only_as_a_new_photo(
    dvi: OpenDVI, tmp_path: Path
) -> None:
    first, second = (
        store_photo(
            write_photo(tmp_path / f"{n}.jpg", seed=n), media=dvi.media, settings=dvi.settings
        )
        for n in (1, 2)
    )
    save(dvi, fields={}, photos=[first, second])
    with dvi.db.write() as session:
        saved = save_record(
            session, MissingPerson, actor="c", ref="AM-1", fields={}, photos=[second]
        )
    assert saved.outcome == "updated" and saved.erased == {first.sha256, first.served_sha256}
    with dvi.db.read() as session:
        photos = session.execute(select(Photo).order_by(Photo.id)).scalars().all()
        assert [p.sha256 for p in photos] == [second.sha256]
    assert save(dvi, fields={}, photos=[first, second]) == "updated"
    with dvi.db.read() as session:
        assert len(session.execute(select(Photo)).scalars().all()) == 2


def test_the_original_is_kept_byte_for_byte(dvi: OpenDVI, tmp_path: Path) -> None:
    path = write_photo(tmp_path / "p.jpg", seed=3)
    stored = store_photo(path, media=dvi.media, settings=dvi.settings)
    assert dvi.media.get(stored.sha256) == path.read_bytes()
    assert stored.served_sha256 != stored.sha256 and dvi.media.intact(stored.served_sha256)
    assert (stored.width, stored.height, stored.media_type) == (120, 90, "image/jpeg")


def test_a_record_from_a_form_is_refused_to_whoever_may_not_add_it(dvi: OpenDVI) -> None:
    """The rule of the pages and the API holds in the use-case itself: caseworkers add
    reports, forensic staff remains, and nobody else."""
    from opendvi.errors import NotFound, Refused
    from opendvi.people import add_user
    from opendvi.records import add_record, change_record

    for name, role in (("carl", "caseworker"), ("fran", "forensic"), ("ada", "auditor")):
        add_user(dvi, username=name, role=role, actor="test")
    report = {"ref": "AM-9", "full_name": "Ana"}
    with pytest.raises(Refused, match="fran is a forensic; only a caseworker or an admin"):
        add_record(dvi, kind="missing", values=report, actor="fran", source="test")
    with pytest.raises(Refused, match="carl is a caseworker; only a forensic specialist"):
        add_record(dvi, kind="remains", values={"ref": "PM-9"}, actor="carl", source="test")
    with pytest.raises(NotFound, match="no active user 'someone'"):
        add_record(dvi, kind="missing", values=report, actor="someone", source="test")
    assert (
        add_record(dvi, kind="missing", values=report, actor="carl", source="t").outcome
        == "created"
    )
    with pytest.raises(Refused, match="ada is an auditor"):
        change_record(dvi, kind="missing", ref="AM-9", values=report, actor="ada", source="t")
    assert events(dvi)[-1].action == "missing_person.created"
