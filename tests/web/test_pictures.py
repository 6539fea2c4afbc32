"""Who may see a post-mortem photo unblurred (issue 13, finding 5): forensic staff,
reviewers and admins; a caseworker only for a family who asked to see the photos of their
identified person; the auditor never. Every reveal is audited: who, which photo, why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opendvi.app import OpenDVI
from opendvi.core.roles import Role
from opendvi.db.tables import AuditEvent, Face
from tests.factories import build_site, client, csrf_of, sharpness


@pytest.fixture
def site(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    return build_site(dvi, tmp_path, families=True)


def reveal(web: Any, site: dict[str, Any], photo: int, **form: str) -> Any:
    token = csrf_of(web.get("/").text)
    return web.post(f"/photos/{photo}/reveal", data={"csrf": token, **form})


# The importer has no web pages (tests/cli/test_signed_in.py).
@pytest.mark.parametrize("role", [role.value for role in Role if role is not Role.IMPORTER])
def test_who_may_reveal_a_post_mortem_photo(site: dict[str, Any], role: str) -> None:
    photo = site["ids"]["pm0-photo"]
    web = client(site, role)
    blurred = sharpness(web.get(f"/photos/{photo}.jpg").content)
    answer = reveal(web, site, photo, back=f"/candidates/{site['ids']['candidate']}")
    sharp = sharpness(web.get(f"/photos/{photo}.jpg").content) > 2 * blurred
    with site["dvi"].db.read() as session:
        events = (
            session.execute(select(AuditEvent).where(AuditEvent.action == "photo.revealed"))
            .scalars()
            .all()
        )
    if role in ("admin", "forensic", "reviewer"):
        assert answer.status_code == 303 and sharp
        page = f"/candidates/{site['ids']['candidate']}"
        assert [(e.actor, e.entity_id, e.details["why"]) for e in events] == [
            (role, photo, f"revealed on {page}")
        ]
    else:
        assert answer.status_code == 409 and "may see a post-mortem photo" in answer.text
        assert not sharp and events == []


def test_a_caseworker_reveals_only_for_a_family_who_asked(site: dict[str, Any]) -> None:
    from opendvi.notify import approve, plan, record_step, save_words, set_checklist

    dvi, ids = site["dvi"], site["ids"]
    task = ids["task"]  # telling AM-1's mother that PM-1 is her son
    web = client(site, "caseworker")
    pm1, pm0 = ids["pm1-photo"], ids["pm0-photo"]
    assert reveal(web, site, pm1, task=str(task)).status_code == 409  # nothing asked yet
    plan(dvi, task, channel="in_person", assigned=["caseworker", "admin"], username="caseworker")
    save_words(dvi, task, text="Words read and saved.", username="caseworker")
    approve(dvi, task, username="admin")
    set_checklist(dvi, task, items={"identity": True, "relationship": True}, username="admin")
    record_step(dvi, task, kind="visit", outcome="told", username="caseworker")
    assert reveal(web, site, pm1, task=str(task)).status_code == 409  # told, not asked
    record_step(dvi, task, kind="photo_request", note="she asks", username="caseworker")
    assert reveal(web, site, pm1).status_code == 409  # not for a task: no
    assert reveal(web, site, pm0, task=str(task)).status_code == 409  # not this family's
    assert reveal(web, site, pm1, task=str(task + 1)).status_code == 409  # not their task
    auditor = client(site, "auditor")  # the family asked, but never the auditor
    assert reveal(auditor, site, pm1, task=str(task)).status_code == 409
    shown = reveal(web, site, pm1, task=str(task), back=f"/notifications/{task}/photos")
    assert shown.status_code == 303 and shown.headers["location"] == f"/notifications/{task}/photos"
    with dvi.db.read() as session:
        event = session.execute(
            select(AuditEvent).where(AuditEvent.action == "photo.revealed")
        ).scalar_one()
    assert (event.actor, event.entity_id, event.details["task"]) == ("caseworker", pm1, task)


def test_revealing_one_photo_leaves_every_other_post_mortem_photo_blurred(
    site: dict[str, Any],
) -> None:
    ids, web = site["ids"], client(site, "reviewer")
    pm0, pm1 = ids["pm0-photo"], ids["pm1-photo"]
    with site["dvi"].db.read() as session:
        pm1_face = session.execute(select(Face.id).where(Face.photo_id == pm1)).scalar_one()
    before = {
        url: sharpness(web.get(url).content)
        for url in (f"/photos/{pm1}.jpg", f"/faces/{pm1_face}.jpg", f"/photos/{pm0}.jpg")
    }
    assert reveal(web, site, pm0, back="/records/remains/PM-0").status_code == 303
    assert sharpness(web.get(f"/photos/{pm0}.jpg").content) > 2 * before[f"/photos/{pm0}.jpg"]
    for url in (f"/photos/{pm1}.jpg", f"/faces/{pm1_face}.jpg"):
        assert sharpness(web.get(url).content) == pytest.approx(before[url]), url
    shown, other = web.get("/records/remains/PM-0").text, web.get("/records/remains/PM-1").text
    assert f'action="/photos/{pm0}/reveal' not in shown and ", revealed" in shown
    assert f'action="/photos/{pm1}/reveal' in other
    assert ", revealed" not in other and ", blurred" in other


def test_a_reports_photo_has_nothing_to_reveal_and_nothing_is_audited(
    site: dict[str, Any],
) -> None:
    from opendvi.records.photos import reveal

    dvi, ids = site["dvi"], site["ids"]
    assert reveal(dvi, ids["am0-photo"], username="reviewer", why="test") is False
    assert reveal(dvi, ids["pm0-photo"], username="reviewer", why="test") is True
    with dvi.db.read() as session:
        revealed = session.execute(
            select(
                AuditEvent.entity_id, AuditEvent.entity_ref, AuditEvent.actor, AuditEvent.details
            ).where(AuditEvent.action == "photo.revealed")
        ).all()
    # Who, which photo of which remains, and why: the audit event says each.
    assert [tuple(r) for r in revealed] == [
        (ids["pm0-photo"], "PM-0", "reviewer", {"why": "test", "task": None})
    ]
