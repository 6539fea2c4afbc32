"""What matching loads for one side: each record's facts, evidence digest and usable
faces, grouped by record, with a vector index over the faces."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.core.evidence import AMFacts, PMFacts
from opendvi.core.scoring import (
    FaceSet,
)
from opendvi.db.tables import (
    Effect,
    Face,
    Mark,
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
    # Room for faces appended after ``vectors`` (which is then a view of it): ``splice``.
    _room: np.ndarray | None = field(default=None, repr=False)

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
        record of the other side has its spread measured against. Drawn once per load,
        unless the records were given (``sample_of``)."""
        if self._sample is None:
            self._sample = self._sample_at(sample_positions(len(self.groups)))
        return self._sample

    def sample_of(self, records: Sequence[int]) -> None:
        """Measure spreads against these records (those of them still with faces): the
        ones drawn when the calibration in use was fitted."""
        self._sample = self._sample_at(
            sorted(self.position[r] for r in records if r in self.position)
        )

    def _sample_at(self, chosen: list[int]) -> GallerySample:
        if len(chosen) == len(self.groups):
            vectors, quality, starts = self.vectors, self.quality, self.starts
        else:
            rows = (
                np.concatenate([np.arange(self.starts[g], self.ends[g]) for g in chosen])
                if chosen
                else np.empty(0, dtype=np.int64)
            )
            sizes = (self.ends - self.starts)[chosen]
            starts = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64) if chosen else sizes
            vectors, quality = self.vectors[rows], self.quality[rows]
        return GallerySample(
            vectors, quality, starts, tuple(chosen), frozenset(int(self.groups[g]) for g in chosen)
        )


def sample_positions(count: int) -> list[int]:
    """Which of ``count`` records with faces (in record-id order) a spread is measured
    against: all of them, or ``SPREAD_SAMPLE`` drawn the same way each time."""
    if count <= SPREAD_SAMPLE:
        return list(range(count))
    return sorted(random.Random(0).sample(range(count), SPREAD_SAMPLE))


def spread_reference(
    session: Session, model: tuple[str, str], records: Sequence[int] | None = None
) -> GallerySample:
    """The reports a remains record's spread is measured against, read without loading
    every report's faces: those the calibration in use names (``records``, still matched),
    or, for a calibration stored without them, the ones a whole loaded side's ``sample``
    draws (the ids of every report with faces read first)."""
    owner = Photo.missing_person_id
    if records is not None:
        kept: list[int] = []
        for chunk in _chunks(sorted(records)):
            assert chunk is not None
            kept += session.execute(
                select(MissingPerson.id).where(
                    MissingPerson.id.in_(chunk), MissingPerson.status != "withdrawn"
                )
            ).scalars()
        faces = load_faces(session, "missing", model, kept)
    else:
        ids = (
            session.execute(
                select(owner)
                .distinct()
                .join(Face, Face.photo_id == Photo.id)
                .join(MissingPerson, MissingPerson.id == owner)
                .where(MissingPerson.status != "withdrawn", *_matched_faces())
                .where(Face.model_name == model[0], Face.model_version == model[1])
                .order_by(owner)
            )
            .scalars()
            .all()
        )
        chosen = sample_positions(len(ids))
        faces = load_faces(session, "missing", model, [int(cast(int, ids[p])) for p in chosen])
    return GallerySample(
        faces.vectors,
        faces.quality,
        faces.starts,
        tuple(range(len(faces.groups))),  # positions among themselves (not a loaded side)
        frozenset(int(g) for g in faces.groups.tolist()),
    )


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


def _parts(
    session: Session, part: type[Mark] | type[Effect], side: Side, ids: Sequence[int] | None
) -> dict[int, list[tuple[str, ...]]]:
    """Each record's marks (body location, description) or effects (description), in the
    order the record keeps them."""
    owner = part.missing_person_id if side == "missing" else part.remains_id
    columns = (Mark.body_location, Mark.description) if part is Mark else (Effect.description,)
    query = select(owner, *columns).where(owner.is_not(None)).order_by(part.id)
    out: dict[int, list[tuple[str, ...]]] = {}
    for chunk in _chunks(ids):
        selected = query if chunk is None else query.where(owner.in_(chunk))
        for record_id, *values in session.execute(selected):
            out.setdefault(int(record_id), []).append(tuple(values))
    return out


def _chunks(ids: Sequence[int] | None, size: int = 500) -> list[Sequence[int] | None]:
    if ids is None:
        return [None]
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def _load_facts(
    session: Session, side: Side, ids: Sequence[int] | None
) -> tuple[dict[int, str], dict[int, AMFacts | PMFacts]]:
    """The refs and facts of one side's records that are matched (a withdrawn report is
    matched no more), all of them or those of ``ids``, read as plain rows."""
    marks = _parts(session, Mark, side, ids)
    effects = _parts(session, Effect, side, ids)
    refs: dict[int, str] = {}
    facts: dict[int, AMFacts | PMFacts] = {}
    if side == "missing":
        am = MissingPerson
        query: Any = (
            select(
                am.id,
                am.ref,
                am.sex,
                am.birth_earliest,
                am.birth_latest,
                am.height_min_cm,
                am.height_max_cm,
                am.last_seen_earliest,
                am.last_seen_latest,
                am.last_seen_lat,
                am.last_seen_lon,
            )
            .where(am.status != "withdrawn")
            .order_by(am.id)
        )
        owner = am.id
    else:
        pm = Remains
        query = (
            select(
                pm.id,
                pm.ref,
                pm.sex,
                pm.age_min,
                pm.age_max,
                pm.height_min_cm,
                pm.height_max_cm,
                pm.found_earliest,
                pm.found_latest,
                pm.found_lat,
                pm.found_lon,
            )
            .where(pm.status != "withdrawn")
            .order_by(pm.id)
        )
        owner = pm.id
    for chunk in _chunks(ids):
        selected = query if chunk is None else query.where(owner.in_(chunk))
        for record_id, ref, sex, a, b, h1, h2, d1, d2, lat, lon in session.execute(selected):
            refs[record_id] = ref
            own_marks = tuple(cast("tuple[str, str]", m) for m in marks.get(record_id, ()))
            own_effects = tuple(e[0] for e in effects.get(record_id, ()))
            if side == "missing":
                facts[record_id] = AMFacts(
                    sex=sex or "U",
                    birth=_both(a, b),
                    height=_either(h1, h2),
                    last_seen=_both(d1, d2),
                    place=_both(lat, lon),
                    marks=own_marks,
                    effects=own_effects,
                )
            else:
                facts[record_id] = PMFacts(
                    sex=sex or "U",
                    age=_either(a, b),
                    height=_either(h1, h2),
                    found=_both(d1, d2),
                    place=_both(lat, lon),
                    marks=own_marks,
                    effects=own_effects,
                )
    return refs, facts


@dataclass(frozen=True)
class FaceRows:
    """Usable faces of some records, grouped by record (in record-id order)."""

    groups: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    vectors: np.ndarray
    quality: np.ndarray
    face_ids: np.ndarray


def _matched_faces() -> tuple[Any, ...]:
    """The faces matching reads: the chosen person's usable faces with an embedding, in
    photos not withdrawn (the model is compared by the caller)."""
    return (
        Photo.withdrawn_at.is_(None),
        Face.usable,
        Face.is_subject,
        Face.embedding.is_not(None),
    )


def load_faces(
    session: Session, side: Side, model: tuple[str, str], ids: Sequence[int] | None = None
) -> FaceRows:
    """The usable faces of one side's records (all, or those of ``ids``) for ``model``."""
    owner_column = Photo.missing_person_id if side == "missing" else Photo.remains_id
    query = (
        select(owner_column, Face.id, Face.embedding, Face.quality)
        .join(Photo, Face.photo_id == Photo.id)
        .where(owner_column.is_not(None), *_matched_faces())
    )
    if ids is not None:
        # Some records' faces: found through their photos. The model is compared as an
        # expression, so that no planner reads every face of the model by its index instead.
        query = query.where(
            Face.model_name.concat("") == model[0], Face.model_version.concat("") == model[1]
        )
    else:
        query = query.where(Face.model_name == model[0], Face.model_version == model[1])
    rows: list[Any] = []
    for chunk in _chunks(sorted(ids) if ids is not None else None):
        selected = query if chunk is None else query.where(owner_column.in_(chunk))
        rows.extend(session.execute(selected.order_by(owner_column, Face.id)).all())
    return _grouped(rows)


def _grouped(rows: Sequence[Any]) -> FaceRows:
    owners = np.array([r[0] for r in rows], dtype=np.int64)
    face_ids = np.array([r[1] for r in rows], dtype=np.int64)
    vectors = (
        np.frombuffer(b"".join(cast(bytes, r[2]) for r in rows), dtype=np.float32).reshape(
            len(rows), -1
        )
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
    return FaceRows(groups, starts, ends, vectors, quality, face_ids)


def _digest(facts: AMFacts | PMFacts, faces: list[int], model: tuple[str, str]) -> str:
    body = {"facts": facts, "faces": faces, "model": list(model)}
    return hashlib.sha256(audit.canonical_json(body).encode()).hexdigest()


def load_side(
    session: Session, side: Side, model: tuple[str, str], ids: Sequence[int] | None = None
) -> SideData:
    """One side's records that are matched, with their faces and a vector index over them:
    every record, or just those of ``ids`` (scoring one pair needs only its two)."""
    wanted = sorted(set(ids)) if ids is not None else None
    refs, facts = _load_facts(session, side, wanted)
    faces = load_faces(session, side, model, list(refs) if wanted is not None else None)
    if wanted is None and len(faces.groups):
        # Faces of withdrawn records are not matched.
        keep = np.isin(faces.groups, np.fromiter(refs, dtype=np.int64, count=len(refs)))
        if not keep.all():
            faces = _keep_groups(faces, keep)
    owner_column = Photo.missing_person_id if side == "missing" else Photo.remains_id
    unchosen_query = select(owner_column).where(Photo.person_not_chosen, owner_column.is_not(None))
    if wanted is not None:
        unchosen_query = unchosen_query.where(owner_column.in_(wanted))
    unchosen = frozenset(
        int(owner_id)
        for owner_id in session.execute(unchosen_query).scalars()
        if owner_id is not None
    )
    return _side_data(side, refs, facts, faces, unchosen, model)


def _keep_groups(faces: FaceRows, keep: np.ndarray) -> FaceRows:
    rows = (
        np.concatenate(
            [np.arange(s, e) for s, e in zip(faces.starts[keep], faces.ends[keep], strict=True)]
        )
        if keep.any()
        else np.empty(0, dtype=np.int64)
    )
    sizes = (faces.ends - faces.starts)[keep]
    starts = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64) if len(sizes) else sizes
    return FaceRows(
        faces.groups[keep],
        starts.astype(np.int64),
        (starts + sizes).astype(np.int64),
        faces.vectors[rows] if len(rows) else np.empty((0, faces.vectors.shape[1]), np.float32),
        faces.quality[rows],
        faces.face_ids[rows],
    )


def _side_data(
    side: Side,
    refs: dict[int, str],
    facts: dict[int, AMFacts | PMFacts],
    faces: FaceRows,
    unchosen: frozenset[int],
    model: tuple[str, str],
    digests: dict[int, str] | None = None,
) -> SideData:
    groups, starts, ends = faces.groups, faces.starts, faces.ends
    owner = np.repeat(np.arange(len(starts)), ends - starts)
    position = {int(g): i for i, g in enumerate(groups.tolist())}
    index = ExactIndex.over(faces.vectors) if len(faces.vectors) else None
    faceless = [r for r in refs if r not in position]
    if digests is None:
        digests = {}
        for record_id in refs:
            where = position.get(record_id)
            own = [] if where is None else faces.face_ids[starts[where] : ends[where]].tolist()
            digests[record_id] = _digest(facts[record_id], own, model)
    return SideData(
        side=side,
        refs=refs,
        facts=facts,
        digests=digests,
        groups=groups,
        starts=starts,
        ends=ends,
        vectors=faces.vectors,
        quality=faces.quality,
        face_ids=faces.face_ids,
        owner=owner,
        position=position,
        index=index,
        faceless=faceless,
        unchosen=unchosen,
    )
