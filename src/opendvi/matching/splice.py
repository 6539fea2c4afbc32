"""A loaded side kept current: the records that changed since it was loaded are read again
(``gallery.load_side`` with their ids) and put in its place, so that no run reloads every
record for the few that changed. The result is the side a fresh load would give: the same
records, facts, digests and faces, grouped in record-id order."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from opendvi.index import ExactIndex
from opendvi.matching.gallery import SideData


def splice(data: SideData, fresh: SideData, ids: Collection[int]) -> None:
    """Put the records of ``ids`` into ``data`` as ``fresh`` holds them: changed, new, or
    gone (a record of ``ids`` that ``fresh`` lacks is no longer matched). The faces of the
    other records are kept as they are."""
    changed = sorted(set(ids))
    if _new_at_the_end(data, changed):
        _append(data, fresh, changed)
        return
    for record_id in changed:
        if record_id in fresh.refs:
            data.refs[record_id] = fresh.refs[record_id]
            data.facts[record_id] = fresh.facts[record_id]
            data.digests[record_id] = fresh.digests[record_id]
        else:
            data.refs.pop(record_id, None)
            data.facts.pop(record_id, None)
            data.digests.pop(record_id, None)
    data.unchosen = (data.unchosen - set(changed)) | fresh.unchosen
    wanted = np.array(changed, dtype=np.int64)
    dropped = np.isin(data.groups, wanted)
    if dropped.any() or len(fresh.groups):
        _splice_faces(data, fresh, dropped)
    data.faceless = [r for r in data.refs if r not in data.position]
    data._sample = None  # drawn again on first use (or given again: ``sample_of``)


def _new_at_the_end(data: SideData, changed: list[int]) -> bool:
    """Whether every changed record is new and after every loaded one (a record stored
    since the load: ids only grow), so its faces go after all the others."""
    if not changed or any(record_id in data.refs for record_id in changed):
        return False
    last = max(data.refs, default=0)
    return changed[0] > max(last, int(data.groups[-1]) if len(data.groups) else 0)


def _append(data: SideData, fresh: SideData, changed: list[int]) -> None:
    """New records put after the others, at a cost that grows with their faces, not with
    the side's: the face rows are written into room kept after the loaded ones."""
    for record_id in changed:
        if record_id in fresh.refs:
            data.refs[record_id] = fresh.refs[record_id]
            data.facts[record_id] = fresh.facts[record_id]
            data.digests[record_id] = fresh.digests[record_id]
    data.unchosen = data.unchosen | fresh.unchosen
    data._sample = None
    if len(fresh.groups):
        rows, added = len(data.vectors), len(fresh.vectors)
        room = data._room
        if room is None or len(room) < rows + added or room.shape[1:] != fresh.vectors.shape[1:]:
            # A quarter more than needed: appending a face copies the others rarely.
            room = np.empty(
                (rows + added + max(1024, (rows + added) // 4), *fresh.vectors.shape[1:]),
                np.float32,
            )
            if rows:
                room[:rows] = data.vectors
            data._room = room
        room[rows : rows + added] = fresh.vectors
        data.vectors = room[: rows + added]
        data.quality = np.concatenate([data.quality, fresh.quality]).astype(np.float32, copy=False)
        data.face_ids = np.concatenate([data.face_ids, fresh.face_ids]).astype(np.int64, copy=False)
        first = len(data.groups)
        data.groups = np.concatenate([data.groups, fresh.groups]).astype(np.int64, copy=False)
        data.starts = np.concatenate([data.starts, fresh.starts + rows]).astype(
            np.int64, copy=False
        )
        data.ends = np.concatenate([data.ends, fresh.ends + rows]).astype(np.int64, copy=False)
        data.owner = np.concatenate([data.owner, fresh.owner + first]).astype(np.int64, copy=False)
        for offset, record_id in enumerate(fresh.groups.tolist()):
            data.position[int(record_id)] = first + offset
        data.index = ExactIndex.over(data.vectors)
    data.faceless += [r for r in changed if r in data.refs and r not in data.position]


def _splice_faces(data: SideData, fresh: SideData, dropped: np.ndarray) -> None:
    """The face rows of the dropped groups out, those of ``fresh`` in, in record-id order;
    every array (and the index) made again in one pass over the rows."""
    kept_rows = ~dropped[data.owner] if len(data.owner) else np.empty(0, bool)
    owners_kept = data.groups[data.owner][kept_rows] if len(data.owner) else data.groups[:0]
    owners_new = fresh.groups[fresh.owner] if len(fresh.owner) else fresh.groups[:0]
    # Where each new row goes among the kept rows: after every kept row of a lower record.
    at = np.searchsorted(owners_kept, owners_new, side="left")

    def merged(old: np.ndarray, new: np.ndarray) -> np.ndarray:
        kept = old[kept_rows] if not kept_rows.all() else old
        return np.insert(kept, at, new, axis=0) if len(new) else np.array(kept)

    dim = (data.vectors if len(data.vectors) else fresh.vectors).shape[1]
    old_vectors = data.vectors if len(data.vectors) else np.empty((0, dim), np.float32)
    vectors = merged(old_vectors, fresh.vectors)
    quality = merged(data.quality, fresh.quality)
    face_ids = merged(data.face_ids, fresh.face_ids)
    owners = merged(data.groups[data.owner] if len(data.owner) else data.groups[:0], owners_new)
    if len(owners):
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]).astype(np.int64)
    else:
        starts = np.empty(0, dtype=np.int64)
    data.groups = owners[starts].astype(np.int64)
    data.starts = starts
    data.ends = np.r_[starts[1:], len(owners)].astype(np.int64)
    data.vectors = vectors.astype(np.float32, copy=False)
    data.quality = quality.astype(np.float32, copy=False)
    data.face_ids = face_ids.astype(np.int64, copy=False)
    data.owner = np.repeat(np.arange(len(starts)), data.ends - data.starts)
    data.position = {int(g): i for i, g in enumerate(data.groups.tolist())}
    data.index = ExactIndex.over(data.vectors) if len(data.vectors) else None
    data._room = None
