"""Storing the lists: pairs upserted once, ranked in both directions, trimmed to size."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from opendvi.db.tables import (
    Candidate,
    CandidateNumber,
    utcnow,
)
from opendvi.infra.jobs import Side
from opendvi.matching.pairs import Context, face_order

Numbers = dict[tuple[int, int], int]
# The face's points of a stored pair, read from its factors in SQL (no factors decoded).
FACE_POINTS = Candidate.factors[("face", "points")].as_float()


def stored_face_order(face_score: float | None, points: float | None) -> tuple[float, float]:
    """``pairs.face_order`` of a stored pair, from its face score and ``FACE_POINTS``."""
    if face_score is None:
        return (float("-inf"), float("-inf"))
    return (float(points if points is not None else 0.0), float(face_score))


def _pair_chunks(
    pairs: Iterable[tuple[int, int]], size: int = 500
) -> Iterator[list[tuple[int, int]]]:
    """Pairs in order, ``size`` at a time: a statement's parameters stay well inside what a
    database takes (PostgreSQL: 65,535), however many pairs one record has."""
    ordered = sorted(pairs)
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def _among(table: type[Candidate] | type[CandidateNumber], chunk: list[tuple[int, int]]) -> Any:
    """The rows of a chunk's remains records and reports: every pair of the chunk, and
    perhaps others of the same records (the caller keeps the chunk's)."""
    return (
        table.remains_id.in_({pm for pm, _ in chunk}),
        table.missing_person_id.in_({am for _, am in chunk}),
    )


def numbers_for(session: Session, pairs: set[tuple[int, int]]) -> Numbers:
    """The number each pair was given when first stored (``CandidateNumber``); a pair
    never stored before is given the next one now."""
    if not pairs:
        return {}

    def known() -> Numbers:
        found: Numbers = {}
        for chunk in _pair_chunks(pairs):
            rows = session.execute(
                select(
                    CandidateNumber.remains_id,
                    CandidateNumber.missing_person_id,
                    CandidateNumber.id,
                ).where(*_among(CandidateNumber, chunk))
            )
            found.update({(pm, am): number for pm, am, number in rows if (pm, am) in pairs})
        return found

    found = known()
    new = sorted(pairs - set(found))
    if new:
        session.execute(
            insert(CandidateNumber), [{"remains_id": pm, "missing_person_id": am} for pm, am in new]
        )
        found = known()
    return found


def upsert(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    """Store the pairs: a pair stored already is updated in place; a new one is stored under
    the pair's own number, the one it had before if it was ever stored (links and decisions
    that name it by number stay valid when its records are matched again)."""
    rows = list(rows)
    if not rows:
        return
    wanted = {(r["remains_id"], r["missing_person_id"]) for r in rows}
    existing = {
        (pm, am): (cid, rank_pm, rank_am)
        for chunk in _pair_chunks(wanted)
        for cid, pm, am, rank_pm, rank_am in session.execute(
            select(
                Candidate.id,
                Candidate.remains_id,
                Candidate.missing_person_id,
                Candidate.rank_for_remains,
                Candidate.rank_for_missing,
            ).where(*_among(Candidate, chunk))
        )
    }
    inserts, updates = [], []
    for row in rows:
        found = existing.get((row["remains_id"], row["missing_person_id"]))
        if found is None:
            inserts.append({**row, "computed_at": utcnow()})
            continue
        cid, rank_pm, rank_am = found
        change = {**row, "id": cid, "computed_at": utcnow()}
        # Listed for the other record already: keep it listed.
        if change["rank_for_remains"] is None:
            change["rank_for_remains"] = rank_pm
        if change["rank_for_missing"] is None:
            change["rank_for_missing"] = rank_am
        updates.append(change)
    if inserts:
        numbers = numbers_for(session, {(r["remains_id"], r["missing_person_id"]) for r in inserts})
        for row in inserts:
            row["id"] = numbers[(row["remains_id"], row["missing_person_id"])]
        session.execute(insert(Candidate), inserts)
    if updates:
        session.execute(update(Candidate), updates)


def rank_lists(
    session: Session, remains_ids: Iterable[int], missing_ids: Iterable[int], keep: int
) -> None:
    """Number each record's list 1, 2, … by total score; a list longer than ``keep`` by total
    and ``keep`` by face (a new pair pushed in) drops its last; pairs then listed for neither
    record are deleted, unless a reviewer excluded them."""
    columns = (
        Candidate.id,
        Candidate.remains_id,
        Candidate.missing_person_id,
        Candidate.score,
        Candidate.face_score,
        Candidate.status,
        Candidate.rank_for_remains,
        Candidate.rank_for_missing,
        FACE_POINTS,
    )
    for side, ids in (("remains", set(remains_ids)), ("missing", set(missing_ids))):
        column = Candidate.remains_id if side == "remains" else Candidate.missing_person_id
        mine, theirs = (6, 7) if side == "remains" else (7, 6)
        for chunk in _chunks(sorted(ids), 500):
            grouped: dict[int, list[list[Any]]] = {}
            for row in session.execute(select(*columns).where(column.in_(chunk))):
                grouped.setdefault(row[1] if side == "remains" else row[2], []).append(list(row))
            changes, gone = [], []
            for group in grouped.values():
                # Equal scores keep the order of the pairs' numbers (the first stored
                # first), as a rebuild ranks them, not the order the rows came back in.
                group.sort(key=lambda r: r[0])
                listed = [r for r in group if r[5] != "excluded" and r[mine] is not None]
                listed.sort(key=lambda r: (r[3], stored_face_order(r[4], r[8])), reverse=True)
                by_face = sorted(
                    (r for r in listed if r[4] is not None),
                    key=lambda r: stored_face_order(r[4], r[8]),
                    reverse=True,
                )
                kept = {r[0] for r in listed[:keep]} | {r[0] for r in by_face[:keep]}
                rank = 0
                new: dict[int, int | None] = {}
                for r in listed:
                    if r[0] in kept:
                        rank += 1
                        new[r[0]] = rank
                    else:
                        new[r[0]] = None
                for r in group:
                    value = None if r[5] == "excluded" else new.get(r[0], r[mine])
                    if value is None and r[theirs] is None and r[5] != "excluded":
                        gone.append(r[0])
                    elif value != r[mine]:
                        changes.append({"id": r[0], f"rank_for_{side}": value})
            if changes:
                session.execute(update(Candidate), changes)
            if gone:
                session.execute(delete(Candidate).where(Candidate.id.in_(gone)))


def _chunks(values: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def clear_record(session: Session, side: Side, record_id: int) -> None:
    """Every pair of the record removed (stored again by ``upsert``, under their numbers)."""
    column = Candidate.missing_person_id if side == "missing" else Candidate.remains_id
    session.execute(delete(Candidate).where(column == record_id))


def listing_records(session: Session, side: Side, record_id: int, want: str) -> set[int]:
    """Records on the other side that list this one (their ranks move with it)."""
    if (side == "missing") == (want == "am"):
        return {record_id}
    column = Candidate.missing_person_id if side == "missing" else Candidate.remains_id
    target = Candidate.remains_id if want == "pm" else Candidate.missing_person_id
    return set(session.execute(select(target).where(column == record_id)).scalars())


def entering(
    session: Session, ctx: Context, side: Side, record_id: int, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Pairs that belong in the other record's list: they beat its last by total or by face."""
    other_key = "remains_id" if side == "missing" else "missing_person_id"
    own_column = Candidate.missing_person_id if side == "missing" else Candidate.remains_id
    other_column = Candidate.remains_id if side == "missing" else Candidate.missing_person_id
    other_rank = Candidate.rank_for_remains if side == "missing" else Candidate.rank_for_missing
    listed: dict[int, list[tuple[float, float | None, float | None]]] = {}
    for chunk in _chunks(sorted({int(row[other_key]) for row in rows}), 500):
        for other, score, face, points in session.execute(
            select(other_column, Candidate.score, Candidate.face_score, FACE_POINTS).where(
                other_column.in_(chunk), own_column != record_id, other_rank.is_not(None)
            )
        ):
            listed.setdefault(int(other), []).append((score, face, points))
    out = []
    for row in rows:
        theirs = listed.get(int(row[other_key]), [])
        totals = sorted((s for s, _, _ in theirs), reverse=True)
        faces = sorted(
            (stored_face_order(f, points) for _, f, points in theirs if f is not None),
            reverse=True,
        )
        beats_total = len(totals) < ctx.keep or row["score"] > totals[ctx.keep - 1]
        beats_face = row["face_score"] is not None and (
            len(faces) < ctx.keep
            or face_order(row["face_score"], row["factors"]) > faces[ctx.keep - 1]
        )
        if beats_total or beats_face:
            out.append(row)
    return out


class EntryTotals:
    """The total a new pair of a record must beat to enter each other record's list by
    total, as ``entering`` reads it: the list's ``keep``-th, the record's own pair left out
    (so the ``keep + 1``-th when that pair is among the first ``keep``); a record listing
    fewer is left out (any pair enters).

    Read from the ranks, and only for the lists a record's pairs may enter: each list's
    ``keep``-th and ``keep + 1``-th totals are read when first asked for in a run, and
    again only after a stored record changed the list (``changed``); so a record costs
    queries of its own pairs and of the lists it is compared with, never one over every
    list of the registry."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        # Per side of the lists: record id -> {rank: total} of the lists read (empty: a
        # list of fewer than ``keep``).
        self._bars: dict[Side, dict[int, dict[int, float]]] = {"missing": {}, "remains": {}}

    def _columns(self, lists: Side) -> tuple[Any, Any]:
        if lists == "remains":
            return Candidate.remains_id, Candidate.rank_for_remains
        return Candidate.missing_person_id, Candidate.rank_for_missing

    def read(
        self, session: Session, lists: Side, ids: Iterable[int]
    ) -> dict[int, dict[int, float]]:
        """The bars of these lists, those not read yet read now."""
        bars = self._bars[lists]
        wanted = sorted({int(i) for i in ids} - set(bars))
        column, rank = self._columns(lists)
        query = select(column, rank, Candidate.score).where(rank.in_((self.keep, self.keep + 1)))
        for chunk in _chunks(wanted, 500):
            for record in chunk:
                bars[record] = {}
            for record, place, score in session.execute(query.where(column.in_(chunk))):
                bars[int(record)][int(place)] = float(score)
        return bars

    def of(self, session: Session, side: Side, record_id: int) -> Bars:
        """For a record of ``side``: the bar of each list of the other side, read as asked."""
        lists: Side = "remains" if side == "missing" else "missing"
        own_column = Candidate.missing_person_id if side == "missing" else Candidate.remains_id
        other_column, other_rank = self._columns(lists)
        among_first = {
            int(other)
            for other in session.execute(
                select(other_column).where(
                    own_column == record_id, other_rank.is_not(None), other_rank <= self.keep
                )
            ).scalars()
        }
        return Bars(self, session, lists, among_first)

    def changed(
        self, session: Session, remains_ids: Iterable[int], missing_ids: Iterable[int]
    ) -> None:
        """The lists of these records were ranked again: their bars are read afresh."""
        for lists, ids in (("remains", remains_ids), ("missing", missing_ids)):
            bars = self._bars[lists]  # type: ignore[index]
            for record in ids:
                bars.pop(int(record), None)


class Bars:
    """Each list's bar for one record (``EntryTotals.of``): the ``keep``-th total, or the
    next one where the record's own pair is among the first ``keep``."""

    def __init__(self, totals: EntryTotals, session: Session, lists: Side, among_first: set[int]):
        self._totals, self._session, self._lists = totals, session, lists
        self._among_first = among_first

    def among(self, ids: Iterable[int]) -> dict[int, float]:
        """The bars of these lists; a list with room (any pair enters) is left out."""
        ids = [int(i) for i in ids]
        bars = self._totals.read(self._session, self._lists, ids)
        keep = self._totals.keep
        out: dict[int, float] = {}
        for record in ids:
            place = keep + 1 if record in self._among_first else keep
            found = bars[record].get(place)
            if found is not None:
                out[record] = found
        return out
