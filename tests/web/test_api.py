"""The JSON API does what the pages do, through the same use-cases: refer, identify (two
other reviewers confirm), revoke; list, read and add records with the import's parsers;
each route's roles and the CSRF header; every path in the OpenAPI description."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.fields import CONTACT_FIELDS, form_fields
from opendvi.db.tables import AuditEvent, MissingPerson, Remains
from tests.factories import build_site, client, csrf_of


@pytest.fixture
def site(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    return build_site(dvi, tmp_path)


def signed_in(site: dict[str, Any], role: str) -> tuple[TestClient, dict[str, str]]:
    """A client signed in as ``role`` and the header its changes carry."""
    web = client(site, role)
    return web, {"X-CSRF-Token": csrf_of(web.get("/").text)}


def count(site: dict[str, Any], model: Any) -> int:
    with site["dvi"].db.read() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_refer_identify_confirm_and_revoke_through_the_api(site: dict[str, Any]) -> None:
    candidate = site["ids"]["candidate"]
    proposer, header = signed_in(site, "reviewer")

    unknown = proposer.post(
        f"/api/candidates/{candidate}/refer", json={"compare": ["x-ray"]}, headers=header
    )
    assert unknown.status_code == 422
    assert (
        unknown.json()["field"] == "compare"
        and "dna, fingerprints, dental" in (unknown.json()["detail"])
    )
    referred = proposer.post(
        f"/api/candidates/{candidate}/refer",
        json={"compare": ["DNA", "dental"], "reason": "same scar"},
        headers=header,
    )
    assert referred.status_code == 200
    assert referred.json()["status"] == "referred"
    referral = referred.json()["factors"]["referral"]
    assert referral["by"] == "reviewer" and referral["reason"] == "compare dental, dna: same scar"

    face_only = proposer.post(
        f"/api/candidates/{candidate}/identify",
        json={"secondary": ["face"], "note": "looks just like him"},
        headers=header,
    )
    assert face_only.status_code == 422
    assert face_only.json()["field"] == "method"
    assert "a face alone cannot identify anyone" in face_only.json()["detail"]
    thin = proposer.post(
        f"/api/candidates/{candidate}/identify",
        json={"secondary": ["face", "marks"], "note": "alike"},
        headers=header,
    )
    assert thin.status_code == 422 and thin.json()["field"] == "note"

    proposed = proposer.post(
        f"/api/candidates/{candidate}/identify",
        json={
            "secondary": ["face", "marks"],
            "note": "scar over the left eyebrow, as the family described",
        },
        headers=header,
    )
    assert proposed.status_code == 201, proposed.text
    shown = proposed.json()
    number = shown["number"]
    assert proposed.headers["location"] == f"/api/identifications/{number}"
    assert shown["pm_ref"] == "PM-0" and shown["am_ref"] == "AM-0"
    assert shown["status"] == "proposed" and shown["method"] == "secondary:face+marks"
    assert shown["basis"] == "scar over the left eyebrow, as the family described"
    assert shown["proposed_by"] == "reviewer" and shown["confirmed_by"] == []
    assert shown["candidate_id"] == candidate

    own = proposer.post(
        f"/api/identifications/{number}/confirm",
        json={"checked": "DNA report read"},
        headers=header,
    )
    assert own.status_code == 409
    assert own.json() == {
        "detail": "the person who proposed an identification cannot confirm it; "
        "ask two other reviewers"
    }

    second, second_header = signed_in(site, "second")
    once = second.post(
        f"/api/identifications/{number}/confirm",
        json={"checked": "DNA report read"},
        headers=second_header,
    )
    assert once.status_code == 200
    assert once.json()["status"] == "proposed" and once.json()["confirmed_by"] == ["second"]
    twice = second.post(
        f"/api/identifications/{number}/confirm",
        json={"checked": "DNA report read"},
        headers=second_header,
    )
    assert twice.status_code == 409 and "already confirmed" in twice.json()["detail"]

    forensic, forensic_header = signed_in(site, "forensic")
    done = forensic.post(
        f"/api/identifications/{number}/confirm",
        json={"checked": "DNA report read"},
        headers=forensic_header,
    )
    assert done.status_code == 200
    assert done.json()["status"] == "confirmed"
    assert done.json()["confirmed_by"] == ["second", "forensic"]
    assert done.json()["confirmed_at"] is not None
    assert proposer.get("/api/records/remains/PM-0").json()["status"] == "identified"
    assert proposer.get("/api/records/missing/AM-0").json()["status"] == "identified"
    confirmed = proposer.get("/api/identifications", params={"status": "confirmed"}).json()
    assert [i["number"] for i in confirmed] == [number]
    everything = proposer.get("/api/identifications").json()
    assert [i["number"] for i in everything] == [number, site["ids"]["identification"]]
    assert everything[1]["proposed_by"] == "admin" and everything[1]["method"] == "dna"

    auditor, auditor_header = signed_in(site, "auditor")
    assert auditor.get(f"/api/identifications/{number}").json()["status"] == "confirmed"
    refused = auditor.post(
        f"/api/identifications/{number}/revoke", json={"reason": "no"}, headers=auditor_header
    )
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("an auditor may not use this page")

    blank = proposer.post(
        f"/api/identifications/{number}/revoke", json={"reason": " "}, headers=header
    )
    assert blank.status_code == 422 and blank.json()["field"] == "reason"
    revoked = proposer.post(
        f"/api/identifications/{number}/revoke", json={"reason": "DNA differs"}, headers=header
    )
    assert revoked.status_code == 200
    body = revoked.json()
    assert body["status"] == "revoked" and body["revoke_reason"] == "DNA differs"
    assert [(d["kind"], d["by"]) for d in body["history"]] == [
        ("possible_match", "reviewer"),
        ("propose_identification", "reviewer"),
        ("confirm", "second"),
        ("confirm", "forensic"),
        ("revoke", "reviewer"),
    ]
    assert body["history"][-1]["reason"] == "DNA differs"
    assert proposer.get("/api/records/remains/PM-0").json()["status"] == "open"
    again = proposer.post(
        f"/api/identifications/{number}/revoke", json={"reason": "twice"}, headers=header
    )
    assert again.status_code == 409 and "already revoked" in again.json()["detail"]
    missing = proposer.get("/api/identifications/999999")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "there is no identification 999999"}
    with site["dvi"].db.read() as session:
        assert audit.verify(session).ok
        actions = session.execute(
            select(AuditEvent.action, AuditEvent.actor).where(
                AuditEvent.action.like("identification.%")
                | (AuditEvent.action == "candidate.referred")
            )
        ).all()
    assert ("candidate.referred", "reviewer") in actions
    assert ("identification.confirmed", "forensic") in actions
    assert ("identification.revoked", "reviewer") in actions


def test_records_are_listed_read_and_added_with_the_imports_parsers(
    site: dict[str, Any],
) -> None:
    web, header = signed_in(site, "caseworker")
    listed = web.get("/api/records/missing").json()
    assert listed["total"] == 2 and listed["page"] == 1 and listed["more"] is False
    assert [r["ref"] for r in listed["records"]] == ["AM-0", "AM-1"]
    assert set(listed["records"][0]["fields"]) == set(form_fields("missing")) - set(CONTACT_FIELDS)

    bad = web.post(
        "/api/records/missing",
        json={
            "ref": "AM-0100",
            "full_name": "Ana Duarte",
            "birth_date": "31/12/1990",
            "contact_name": "Maria Duarte",
            "contact_email": "not an address",
        },
        headers=header,
    )
    assert bad.status_code == 422
    problem = bad.json()
    assert problem["field"] == "birth_date"
    assert problem["detail"].startswith("birth_date: ") and "31/12/1990" in problem["detail"]
    assert set(problem["problems"]) == {"birth_date", "contact_email"}
    assert count(site, MissingPerson) == 2
    assert web.get("/api/records/missing/AM-0100").status_code == 404

    typo = web.post(
        "/api/records/missing", json={"ref": "AM-0100", "fullname": "Ana"}, headers=header
    )
    assert typo.status_code == 422 and count(site, MissingPerson) == 2

    added = web.post(
        "/api/records/missing",
        json={
            "ref": "AM-0100",
            "full_name": "Ana Duarte",
            "sex": "female",
            "birth_year": 1990,
            "height_cm": "165-170",
            "last_seen_date": "2024-05-01..2024-05-03",
            "last_seen_place": "Harbour market",
            "marks": "left forearm: anchor tattoo",
            "effects": "red scarf; silver ring",
            "contact_name": "Maria Duarte",
            "contact_email": "maria@example.org",
            "consent_contact": "yes",
        },
        headers=header,
    )
    assert added.status_code == 201, added.text
    assert added.headers["location"] == "/api/records/missing/AM-0100"
    record = web.get("/api/records/missing/AM-0100").json()
    assert record == added.json()
    assert record["kind"] == "missing" and record["status"] == "open"
    fields = record["fields"]
    assert fields["full_name"] == "Ana Duarte" and fields["sex"] == "F"
    assert fields["birth_year"] == "1990" and fields["height_cm"] == "165-170"
    assert fields["last_seen_date"] == "2024-05-01..2024-05-03"
    assert fields["marks"] == "left forearm: anchor tattoo"
    assert fields["effects"] == "red scarf; silver ring"
    assert not set(fields) & set(CONTACT_FIELDS)  # the family's contact stays off the API
    assert record["photos"] == [] and record["candidates"] == []
    assert [(e["action"], e["actor"]) for e in record["history"]] == [
        ("missing_person.created", "caseworker")
    ]
    with site["dvi"].db.read() as session:
        saved = session.execute(
            select(MissingPerson).where(MissingPerson.ref == "AM-0100")
        ).scalar_one()
        assert [c.email for c in saved.contacts] == ["maria@example.org"]
        event = session.execute(
            select(AuditEvent).where(AuditEvent.entity_ref == "AM-0100")
        ).scalar_one()
        assert event.details["source"] == "api"

    found = web.get("/api/records/missing", params={"q": "duarte", "sex": "F"}).json()
    assert [r["ref"] for r in found["records"]] == ["AM-0100"] and found["total"] == 1
    assert web.get("/api/records/missing", params={"status": "identified"}).json()["total"] == 0
    assert web.get("/api/records/missing", params={"q": "AM-", "page": 2}).json()["records"] == []

    taken = web.post("/api/records/missing", json={"ref": "AM-0100"}, headers=header)
    assert taken.status_code == 422 and taken.json()["field"] == "ref"
    assert "already taken" in taken.json()["detail"]

    refused = web.post("/api/records/remains", json={"ref": "PM-0100"}, headers=header)
    assert refused.status_code == 403 and "admin, forensic" in refused.json()["detail"]
    assert count(site, Remains) == 2

    forensic, forensic_header = signed_in(site, "forensic")
    remains = forensic.post(
        "/api/records/remains",
        json={"ref": "PM-0100", "age_min": 30, "age_max": "40", "condition": "skeletal"},
        headers=forensic_header,
    )
    assert remains.status_code == 201, remains.text
    assert remains.json()["fields"]["age_min"] == "30"
    assert remains.json()["fields"]["condition"] == "skeletal"
    older = forensic.get("/api/records/remains", params={"age": 35}).json()
    assert "PM-0100" in [r["ref"] for r in older["records"]]
    backwards = forensic.post(
        "/api/records/remains",
        json={"ref": "PM-0101", "age_min": "50", "age_max": "40"},
        headers=forensic_header,
    )
    assert backwards.status_code == 422 and backwards.json()["field"] == "age_min"
    assert count(site, Remains) == 3

    with_photos = forensic.get("/api/records/remains/PM-0").json()
    assert [len(p["faces"]) for p in with_photos["photos"]] == [1]
    assert with_photos["candidates"][0]["rank"] == 1
    assert {c["ref"] for c in with_photos["candidates"]} <= {"AM-0", "AM-1"}


def test_roles_and_the_csrf_header_are_checked(site: dict[str, Any]) -> None:
    candidate = site["ids"]["candidate"]
    auditor, header = signed_in(site, "auditor")
    assert auditor.get("/api/records/remains").json()["total"] == 2
    for path, body in (
        (f"/api/candidates/{candidate}/refer", {"compare": ["dna"]}),
        (f"/api/candidates/{candidate}/identify", {"primary": ["dna"]}),
        ("/api/records/missing", {"ref": "AM-0200"}),
        ("/api/records/remains", {"ref": "PM-0200"}),
    ):
        response = auditor.post(path, json=body, headers=header)
        assert response.status_code == 403, path
        assert "an auditor may not use this page" in response.json()["detail"]
    assert count(site, MissingPerson) == 2

    reviewer, _ = signed_in(site, "reviewer")
    unsigned = reviewer.post(f"/api/candidates/{candidate}/refer", json={"compare": ["dna"]})
    assert unsigned.status_code == 403 and "reload the page" in unsigned.json()["detail"]
    forged = reviewer.post(
        f"/api/candidates/{candidate}/refer",
        json={"compare": ["dna"]},
        headers={"X-CSRF-Token": "forged"},
    )
    assert forged.status_code == 403
    assert reviewer.get(f"/api/candidates/{candidate}").json()["status"] == "open"
    assert client(site).get("/api/records/missing").status_code == 401


def test_the_openapi_description_lists_every_operation(site: dict[str, Any]) -> None:
    web, _ = signed_in(site, "auditor")
    spec = web.get("/api/openapi.json").json()
    paths = spec["paths"]
    expected = {
        "/api/candidates/{candidate_id}/refer": {"post"},
        "/api/candidates/{candidate_id}/identify": {"post"},
        "/api/identifications": {"get"},
        "/api/identifications/{number}": {"get"},
        "/api/identifications/{number}/confirm": {"post"},
        "/api/identifications/{number}/revoke": {"post"},
        "/api/records/{kind}": {"get"},
        "/api/records/{kind}/{ref}": {"get"},
        "/api/records/missing": {"post"},
        "/api/records/remains": {"post"},
    }
    for path, methods in expected.items():
        assert set(paths.get(path, {})) == methods, path
    schemas = spec["components"]["schemas"]
    assert list(schemas["MissingPersonIn"]["properties"]) == list(form_fields("missing"))
    assert list(schemas["RemainsIn"]["properties"]) == list(form_fields("remains"))
    assert schemas["MissingPersonIn"]["required"] == ["ref"]
    assert "photos" not in schemas["RemainsIn"]["properties"]
    problems = paths["/api/records/missing"]["post"]["responses"]["422"]
    bodies = problems["content"]["application/json"]["schema"]["anyOf"]
    assert [body["$ref"].rsplit("/", 1)[1] for body in bodies] == [
        "Problems",
        "Problem",
        "Unreadable",
    ]
    kinds = paths["/api/records/{kind}"]["get"]["parameters"][0]["schema"]
    assert kinds["enum"] == ["missing", "remains"]
    assert set(schemas["IdentifyIn"]["properties"]) == {"primary", "secondary", "note"}
