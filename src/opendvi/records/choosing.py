"""Photos of several faces where nobody has chosen the person yet, a page at a time: the
page "Choose the person", ``opendvi faces waiting`` and the dashboard's count. They are
read from the index of such photos alone (``ix_photos_person_not_chosen``), so a page costs
the same in a registry of any size."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from opendvi.app import OpenDVI
from opendvi.caseload import person_not_chosen
from opendvi.db.rows import offset_of
from opendvi.db.tables import Photo
from opendvi.records.views import PhotoView

__all__ = ["PAGE", "ChoicePage", "Waiting", "waiting_for_person"]

PAGE = 20


@dataclass(frozen=True)
class Waiting:
    """One photo whose person is not chosen, and the record it belongs to."""

    kind: str  # "missing" or "remains"
    ref: str
    photo: PhotoView

    @property
    def post_mortem(self) -> bool:
        return self.kind == "remains"


@dataclass(frozen=True)
class ChoicePage:
    total: int
    page: int
    per_page: int
    more: bool
    photos: list[Waiting]


def waiting_for_person(app: OpenDVI, page: int = 1) -> ChoicePage:
    """The photos waiting for someone to choose the person, oldest first."""
    with app.db.read() as session:
        total = person_not_chosen(session)
        rows = (
            session.execute(
                select(Photo)
                .where(Photo.person_not_chosen)
                .options(
                    selectinload(Photo.faces),
                    selectinload(Photo.missing_person),
                    selectinload(Photo.remains),
                )
                .order_by(Photo.id)
                .offset(offset_of(page, PAGE))
                .limit(PAGE)
            )
            .scalars()
            .all()
        )
        photos = []
        for photo in rows:
            owner = photo.missing_person or photo.remains
            kind = "missing" if photo.missing_person_id is not None else "remains"
            photos.append(Waiting(kind, owner.ref if owner else "", PhotoView.of(photo)))
    return ChoicePage(total, page, PAGE, offset_of(page, PAGE) + len(photos) < total, photos)
