"""What matching loads for one side: each record's facts, evidence digest and usable
faces, grouped by record, with a vector index over the faces."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar, cast

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from opendvi import audit
from opendvi.core.evidence import AMFacts, PMFacts
from opendvi.core.scoring import (
    FaceSet,
)
from opendvi.db.tables import (
    Face,
    MissingPerson,
    Photo,
    Remains,
)
from opendvi.index import ExactIndex
from opendvi.infra.jobs import Side

PRESELECT = 100  # records per search compared in full, chosen by their best face pair
BATCH = 64  # records matched per transaction
CALIBRATION_PAIRS = 20_000_000  # most impostor pairs scored when calibrating
RECALIBRATE = 0.1  # recalibrate when the number of reports with faces moved by this share
SPREAD_SAMPLE = 5_000  # reports a remains record's spread is measured against, at most
DEFAULT_QUALITY = 0.5

Progress = Callable[[int, int], None]


@dataclass
class SideData:
    """The records of one side: their facts, digests and usable faces, grouped by record."""

    side: Side
    refs: dict[int, str]
    facts: dict[int, AMFacts | PMFacts]
    digests: dict[int, str]
    groups: np.ndarray  # record id of each face group, in row order
    starts: np.ndarray  # first face row of each group
    ends: np.ndarray
    vectors: np.ndarray
    quality: np.ndarray
    face_ids: np.ndarray
    owner: np.ndarray  # group position of each face row
    position: dict[int, int]
    index: ExactIndex | None
    faceless: list[int] = field(default_factory=list)
    # Records with a photo of several faces where nobody chose the person yet.
    unchosen: frozenset[int] = frozenset()
    _sample: GallerySample | None = field(default=None, repr=False)

    def faces(self, record_id: int) -> FaceSet:
        where = self.position.get(record_id)
        if where is None:
            return FaceSet((), np.empty((0, 1), np.float32), np.empty(0, np.float32))
        rows = slice(int(self.starts[where]), int(self.ends[where]))
        return FaceSet(
            [int(i) for i in self.face_ids[rows]], self.vectors[rows], self.quality[rows]
        )

    def sample(self) -> GallerySample:
        """Faces of at most ``SPREAD_SAMPLE`` records, drawn the same way each time: what a
        record of the other side has its spread measured against. Drawn once per load."""
        if self._sample is None:
            count = len(self.groups)
            if count <= SPREAD_SAMPLE:
                chosen = list(range(count))
                vectors, quality, starts = self.vectors, self.quality, self.starts
            else:
                chosen = sorted(random.Random(0).sample(range(count), SPREAD_SAMPLE))
                rows = np.concatenate([np.arange(self.starts[g], self.ends[g]) for g in chosen])
                sizes = (self.ends - self.starts)[chosen]
                starts = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
                vectors, quality = self.vectors[rows], self.quality[rows]
            self._sample = GallerySample(
                vectors,
                quality,
                starts,
                tuple(chosen),
                frozenset(int(self.groups[g]) for g in chosen),
            )
        return self._sample


@dataclass(frozen=True)
class GallerySample:
    vectors: np.ndarray
    quality: np.ndarray
    starts: np.ndarray
    positions: tuple[int, ...]  # group position of each sampled record, in order
    records: frozenset[int]  # their record ids


T = TypeVar("T")


def _both(low: T | None, high: T | None) -> tuple[T, T] | None:
    """A range known at both ends (a date range, a place as latitude and longitude)."""
    return (low, high) if low is not None and high is not None else None


def _either(low: int | None, high: int | None) -> tuple[int | None, int | None] | None:
    """A range known at one end at least (an age, a height)."""
    return (low, high) if low is not None or high is not None else None


def _am_facts(record: MissingPerson) -> AMFacts:
    return AMFacts(
        sex=record.sex or "U",
        birth=_both(record.birth_earliest, record.birth_latest),
        height=_either(record.height_min_cm, record.height_max_cm),
        last_seen=_both(record.last_seen_earliest, record.last_seen_latest),
        place=_both(record.last_seen_lat, record.last_seen_lon),
        marks=tuple((m.body_location, m.description) for m in record.marks),
        effects=tuple(e.description for e in record.effects),
    )


def _pm_facts(record: Remains) -> PMFacts:
    return PMFacts(
        sex=record.sex or "U",
        age=_either(record.age_min, record.age_max),
        height=_either(record.height_min_cm, record.height_max_cm),
        found=_both(record.found_earliest, record.found_latest),
        place=_both(record.found_lat, record.found_lon),
        marks=tuple((m.body_location, m.description) for m in record.marks),
        effects=tuple(e.description for e in record.effects),
    )


def load_side(session: Session, side: Side, model: tuple[str, str]) -> SideData:
    kind: type[MissingPerson] | type[Remains] = MissingPerson if side == "missing" else Remains
    owner_column = Photo.missing_person_id if side == "missing" else Photo.remains_id
    records = cast(
        "Sequence[MissingPerson | Remains]",
        session.execute(
            select(kind)
            .where(kind.status != "withdrawn")  # a withdrawn report is matched no more
            .options(selectinload(kind.marks), selectinload(kind.effects))
        )
        .scalars()
        .all(),
    )
    refs = {r.id: r.ref for r in records}
    facts: dict[int, AMFacts | PMFacts] = {
        r.id: _am_facts(r) if isinstance(r, MissingPerson) else _pm_facts(r) for r in records
    }
    rows = session.execute(
        select(owner_column, Face.id, Face.embedding, Face.quality)
        .join(Photo, Face.photo_id == Photo.id)
        .where(
            owner_column.is_not(None),
            Photo.withdrawn_at.is_(None),
            Face.usable,
            Face.is_subject,
            Face.embedding.is_not(None),
            Face.model_name == model[0],
            Face.model_version == model[1],
        )
        .order_by(owner_column, Face.id)
    ).all()
    owners = np.array([r[0] for r in rows], dtype=np.int64)
    face_ids = np.array([r[1] for r in rows], dtype=np.int64)
    vectors = (
        np.stack([np.frombuffer(cast(bytes, r[2]), dtype=np.float32) for r in rows])
        if rows
        else np.empty((0, 1), np.float32)
    )
    quality = np.array(
        [r[3] if r[3] is not None else DEFAULT_QUALITY for r in rows], dtype=np.float32
    )
    if len(owners):
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]).astype(np.int64)
    else:
        starts = np.empty(0, dtype=np.int64)
    groups = owners[starts] if len(owners) else np.empty(0, dtype=np.int64)
    ends = np.r_[starts[1:], len(owners)].astype(np.int64)
    owner = np.repeat(np.arange(len(starts)), ends - starts)
    position = {int(g): i for i, g in enumerate(groups)}
    index = None
    if len(vectors):
        index = ExactIndex(vectors.shape[1])
        index.add(np.arange(len(vectors)), vectors)
    faceless = [r.id for r in records if r.id not in position]
    unchosen = frozenset(
        int(owner_id)
        for owner_id in session.execute(
            select(owner_column).where(Photo.person_not_chosen, owner_column.is_not(None))
        ).scalars()
        if owner_id is not None
    )
    digests = {}
    for record_id in refs:
        where = position.get(record_id)
        faces = [] if where is None else face_ids[starts[where] : ends[where]].tolist()
        body = {"facts": facts[record_id], "faces": faces, "model": list(model)}
        digests[record_id] = hashlib.sha256(audit.canonical_json(body).encode()).hexdigest()
    return SideData(
        side=side,
        refs=refs,
        facts=facts,
        digests=digests,
        groups=groups,
        starts=starts,
        ends=ends,
        vectors=vectors,
        quality=quality,
        face_ids=face_ids,
        owner=owner,
        position=position,
        index=index,
        faceless=faceless,
        unchosen=unchosen,
    )
