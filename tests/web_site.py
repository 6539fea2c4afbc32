"""A small site for the web tests: two reports and two remains with real photos and
made-up faces, matched, and a user of every role (password ``PASSWORD``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from opendvi.app import OpenDVI
from opendvi.db.tables import Candidate, Face, Photo
from opendvi.faces import model_identity
from opendvi.intake import save_missing_person, save_remains, store_photo
from opendvi.matching import run_matching
from opendvi.users import ROLES, add_user
from opendvi.web import create_app
from tests.factories import face_row, write_photo

PASSWORD = "correct horse battery"


def build_site(dvi: OpenDVI, tmp_path: Path, *, families: bool = False) -> dict[str, Any]:
    """Two reports and two remains with real photos and faces, matched; a user per role.
    With ``families``, AM-1's mother said yes to being contacted and the identification of
    PM-1 as AM-1 is confirmed, so a notification task exists."""
    model = model_identity(dvi.settings)
    rng = np.random.default_rng(5)
    people = [rng.normal(size=128) for _ in range(2)]
    ids: dict[str, int] = {}
    with dvi.db.write() as session:
        for role in ROLES:
            add_user(session, username=role, role=role, actor="test", password=PASSWORD)
        add_user(session, username="second", role="reviewer", actor="test", password=PASSWORD)
        for n, person in enumerate(people):
            for side, save in (("am", save_missing_person), ("pm", save_remains)):
                photo = store_photo(
                    write_photo(
                        tmp_path / f"{side}{n}.jpg", seed=10 * n + len(side), size=(160, 160)
                    ),
                    media=dvi.media,
                    settings=dvi.settings,
                )
                saved = save(
                    session, actor="test", ref=f"{side.upper()}-{n}", fields={}, photos=[photo]
                )
                ids[f"{side}{n}"] = saved.record_id
                row = session.execute(
                    select(Photo).where(
                        (Photo.missing_person_id if side == "am" else Photo.remains_id)
                        == saved.record_id
                    )
                ).scalar_one()
                ids[f"{side}{n}-photo"] = row.id
                vector = person + 0.3 * rng.normal(size=128)
                session.add(face_row(row.id, vector, model, box=(40, 30, 80, 90)))
                row.detection_status = "done"
    run_matching(dvi, actor="test", everything=True)
    with dvi.db.read() as session:
        ids["candidate"] = session.execute(
            select(Candidate.id).where(
                Candidate.remains_id == ids["pm0"], Candidate.missing_person_id == ids["am0"]
            )
        ).scalar_one()
        ids["pm0-face"] = session.execute(
            select(Face.id).where(Face.photo_id == ids["pm0-photo"])
        ).scalar_one()
    from opendvi.review import propose_identification

    ids["identification"] = propose_identification(
        dvi, "PM-1", "AM-1", primary=["dna"], secondary=[], note="", username="admin"
    )
    if families:
        from opendvi.core.fields import ContactInput
        from opendvi.db.tables import Notification
        from opendvi.review import confirm_identification

        mother = ContactInput(
            name="Olena Kovalenko",
            relationship="mother",
            consent_contact=True,
            consent_channels="in_person",
        )
        with dvi.db.write() as session:
            save_missing_person(session, actor="test", ref="AM-1", fields={}, contacts=[mother])
        for name in ("reviewer", "second"):
            confirm_identification(dvi, ids["identification"], username=name)
        with dvi.db.read() as session:
            ids["task"] = session.execute(select(Notification.id)).scalar_one()
    return {"app": create_app(dvi=dvi), "ids": ids, "dvi": dvi}
