"""Face evidence per person, its calibration to a false-candidate rate, and the one score.

- **Fusion**: every usable face of one record against every usable face of the other. The
  face score is the best pair's similarity, and that pair is kept to show the reviewer;
  the quality-weighted mean over all pairs is computed beside it, to show how the other
  photos agree. (Averaging the two into the score was measured and lowered rank-1 on the
  accuracy benchmark, 0.729 against 0.756 for dlib: a mean penalises reports with more
  photos, whose second photo is usually a poorer match.)
- **Calibration**: the fused scores of pairs known to be different people (two different
  missing-person reports) give the impostor distribution. Its upper tail is fitted with a
  generalised Pareto distribution above the top ``TAIL`` scores (probability-weighted
  moments), so rates far below one in the number of pairs measured can still be estimated.
  ``pair_rate(s)`` is the chance that one stranger scores ``s`` or more; a search of ``n``
  records shows such a stranger with chance ``1 − (1 − pair_rate)ⁿ``.
- **Spread**: with some face models a stranger's score depends on the photo searched: some
  photos score high against everybody, others spread widely. Such a calibration (``spread``)
  is fitted on each search's scores taken relative to the mean and standard deviation of
  that search's other scores (``standardise_each``), and a pair is judged the same way,
  against the remains record's other scores (``Spread.without``). Which of the two a model
  gets is measured on the reports themselves (``open_set_misses``): a report's photo
  searched against the others, with its own report's other photos as the true match.
- **Points**: the face contributes ``−ln pair_rate(s) − 1`` natural-log points (a typical
  stranger scores about 0), the descriptive factors add their own points, and the total is
  turned back into a rate the same way, so description can move a candidate above or below
  the line but cannot make a face-less pair look like a face match.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "Calibration",
    "FaceEvidence",
    "FaceSet",
    "Spread",
    "fuse",
    "fuse_many",
    "open_set_misses",
    "points_rate",
    "search_rate",
    "spreads_of",
    "standardise_each",
]

F32 = npt.NDArray[np.float32]
TAIL = 1000
MIN_PAIRS = 2000
RATE_FLOOR = 1e-15  # no estimate claims rarer than this
BODY_POINTS = 200
SPREAD_FLOOR = 1e-3  # the smallest standard deviation a record's spread is given


@dataclass(frozen=True)
class FaceSet:
    """The usable faces of one record: ids, embeddings (rows, unit length) and qualities."""

    ids: Sequence[int]
    vectors: F32
    quality: F32

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class FaceEvidence:
    score: float
    best: float
    weighted: float
    pair: tuple[int, int]  # (face id on the first side, face id on the second)
    pairs: int


def fuse(a: FaceSet, b: FaceSet) -> FaceEvidence | None:
    """The face evidence between two records, or None when one has no usable face."""
    if not len(a) or not len(b):
        return None
    one = np.zeros(1, dtype=np.int64)
    return fuse_groups(a, b.vectors, b.quality, b.ids, one, one + len(b))[0]


def fuse_groups(
    probe: FaceSet,
    vectors: F32,
    quality: F32,
    ids: Sequence[int] | npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
) -> list[FaceEvidence | None]:
    """``fuse`` of ``probe`` with each of many records at once, figure for figure: record
    ``k``'s faces are rows ``starts[k]:ends[k]`` of ``vectors``/``quality``/``ids``.

    The similarities are summed in a fixed order (``einsum``, not a matrix product whose
    kernel changes with its shape), so a pair scored alone and in a block agree to the bit."""
    lengths = np.asarray(ends, dtype=np.int64) - np.asarray(starts, dtype=np.int64)
    out: list[FaceEvidence | None] = [None] * len(lengths)
    present = np.flatnonzero(lengths > 0)
    if not len(probe) or not len(present):
        return out
    lengths = lengths[present]
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    width = int(lengths.sum())
    rows = np.repeat(np.asarray(starts, dtype=np.int64)[present] - offsets, lengths)
    rows += np.arange(width)
    sims = np.einsum("ij,kj->ik", probe.vectors, vectors[rows])  # a face of the probe a row
    best = np.maximum.reduceat(sims.max(axis=0), offsets)
    # The first pair at the best in row order, as np.argmax over one record's block.
    at_best = sims == np.repeat(best, lengths)[None, :]
    first = np.where(at_best.any(axis=0), at_best.argmax(axis=0), len(probe))
    where = np.minimum.reduceat(first.astype(np.int64) * width + np.arange(width), offsets)
    theirs = quality[rows].astype(np.float64)
    mine = probe.quality.astype(np.float64)
    wide = sims.astype(np.float64)
    numerator = np.add.reduceat((wide * mine[:, None]).sum(axis=0) * theirs, offsets)
    denominator = np.add.reduceat(theirs, offsets) * mine.sum()
    means = np.add.reduceat(wide.sum(axis=0), offsets) / (lengths * len(probe))
    with np.errstate(invalid="ignore", divide="ignore"):
        weighted = np.where(denominator > 0, numerator / denominator, means)
    face_ids = np.asarray(ids)[rows]
    for k, group in enumerate(present.tolist()):
        i, j = divmod(int(where[k]), width)
        score = float(best[k])
        out[group] = FaceEvidence(
            score=score,
            best=score,
            weighted=float(weighted[k]),
            pair=(int(probe.ids[i]), int(face_ids[j])),
            pairs=int(lengths[k]) * len(probe),
        )
    return out


def fuse_many(
    probe: FaceSet, vectors: F32, quality: F32, starts: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The face score of ``probe`` against many records at once, and each one's
    quality-weighted mean over all pairs.

    ``vectors``/``quality`` hold the faces of all records, grouped by record; record ``k``'s
    faces start at row ``starts[k]``. Returns (scores, weighted means), one per record.
    """
    if not len(probe) or not len(starts):
        empty = np.empty(0, dtype=np.float64)
        return empty, empty
    sims = vectors @ probe.vectors.T  # one row per face of the records
    best = np.maximum.reduceat(sims.max(axis=1), starts).astype(np.float64)
    q = probe.quality.astype(np.float64)
    numerator = np.add.reduceat(quality * (sims @ q), starts)
    denominator = np.add.reduceat(quality.astype(np.float64), starts) * q.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        weighted = np.where(denominator > 0, numerator / denominator, best)
    return best, weighted


# Faces of the probes compared with the other records at once by ``spreads_of``.
SPREAD_FACES = 512


def spreads_of(
    probes: Sequence[FaceSet], vectors: F32, starts: npt.NDArray[np.int64]
) -> list[Spread]:
    """Each probe's spread (``Spread.of`` its face scores, ``fuse``'s best pair, against
    each record of ``vectors``, record ``k``'s faces from row ``starts[k]``), the probes
    compared a block at a time. The similarities are summed in a fixed order (``einsum``,
    not a matrix product whose kernel changes with its shape), so a probe's spread is the
    same to the bit alone and in a block."""
    out = [Spread(0, 0.0, 0.0) for _ in probes]
    present = [k for k, probe in enumerate(probes) if len(probe)]
    if not len(starts) or not present:
        return out
    blocks: list[list[int]] = [[]]
    faces = 0
    for k in present:
        if blocks[-1] and faces + len(probes[k]) > SPREAD_FACES:
            blocks.append([])
            faces = 0
        blocks[-1].append(k)
        faces += len(probes[k])
    for block in blocks:
        rows = np.concatenate([probes[k].vectors for k in block])
        sims = np.einsum("ij,kj->ik", rows, vectors, optimize=False)  # a probe face a row
        per_record = np.maximum.reduceat(sims, starts, axis=1)
        offsets = np.r_[0, np.cumsum([len(probes[k]) for k in block])[:-1]].astype(np.int64)
        best = np.maximum.reduceat(per_record, offsets, axis=0).astype(np.float64)
        for k, row in zip(block, best, strict=True):
            out[k] = Spread.of(row)
    return out


def search_rate(pair_rate: float, size: int) -> float:
    """The chance that a search of ``size`` records shows at least one such stranger."""
    pair_rate = min(1.0, max(0.0, pair_rate))
    if pair_rate >= 1.0:
        return 1.0
    return float(-math.expm1(max(1, size) * math.log1p(-pair_rate)))


@dataclass(frozen=True)
class Spread:
    """Where a stranger's score usually lies for one record's photos: the count, sum and sum
    of squares of its face scores against the records of the other side."""

    count: int
    total: float
    squares: float

    @classmethod
    def of(cls, scores: npt.ArrayLike) -> Spread:
        values = np.asarray(scores, dtype=np.float64)
        values = values[np.isfinite(values)]
        return cls(len(values), float(values.sum()), float((values * values).sum()))

    def without(self, score: float | None = None) -> tuple[float, float]:
        """The mean and standard deviation of the scores, leaving out ``score`` (one of
        them: the pair being judged) when given."""
        count, total, squares = self.count, self.total, self.squares
        if score is not None and count > 1:
            count, total, squares = count - 1, total - score, squares - score * score
        if count <= 0:
            return 0.0, 1.0
        mean = total / count
        return mean, max(SPREAD_FLOOR, math.sqrt(max(0.0, squares / count - mean * mean)))


def standardise_each(
    scores: npt.ArrayLike, among: npt.NDArray[np.bool_] | None = None
) -> npt.NDArray[np.float64]:
    """Each of one search's scores in standard deviations above the mean of the others, as
    ``Spread.without`` reads a pair against its record's spread. With ``among``, the spread
    is of the scores it marks (a sample), each left out only where it is one of them."""
    values = np.asarray(scores, dtype=np.float64)
    inside = np.ones(len(values), dtype=bool) if among is None else among
    if inside.sum() < 2:
        return values.copy()
    kept = values[inside]
    others = np.where(inside, len(kept) - 1, len(kept))
    mean = (kept.sum() - np.where(inside, values, 0.0)) / others
    squares = ((kept * kept).sum() - np.where(inside, values * values, 0.0)) / others
    deviation = np.maximum(SPREAD_FLOOR, np.sqrt(np.maximum(squares - mean * mean, 0.0)))
    standardised: npt.NDArray[np.float64] = (values - mean) / deviation
    return standardised


def open_set_misses(
    tops: Sequence[float], mated: Sequence[tuple[float, float]], *, fpir: float = 0.1
) -> float:
    """The share of searches whose true match is missed at the threshold that lets ``fpir``
    of searches without one show a candidate (FNIR at FPIR).

    ``tops``: the best score of each search without a true match; ``mated``: the true match's
    score and the best other score of each search with one. A true match counts as found
    when it is first and above the threshold.
    """
    if not tops or not mated:
        raise ValueError("a search with and one without a true match are needed")
    ordered = sorted(tops)
    threshold = ordered[max(0, math.ceil(len(ordered) * (1 - fpir)) - 1)]
    missed = sum(1 for mate, other in mated if not (mate > other and mate > threshold))
    return missed / len(mated)


@dataclass(frozen=True)
class Calibration:
    """The impostor distribution of fused face scores for one face model."""

    pairs: int
    body: tuple[float, ...]  # scores below the tail, ascending
    survival: tuple[float, ...]  # the share of impostor pairs scoring above each of them
    threshold: float  # where the tail starts
    tail_share: float  # the share of impostor pairs above ``threshold``
    shape: float  # generalised Pareto shape ξ (negative: a bounded tail)
    scale: float
    spread: bool = False  # scores are taken relative to the remains record's spread
    chosen_by: str = ""  # what decided ``spread``, in words

    @classmethod
    def fit(
        cls, scores: npt.ArrayLike, *, spread: bool = False, chosen_by: str = ""
    ) -> Calibration:
        values = np.sort(np.asarray(scores, dtype=np.float64))
        values = values[np.isfinite(values)]
        n = len(values)
        if n < MIN_PAIRS:
            raise ValueError(f"{n} impostor scores are too few to calibrate (need {MIN_PAIRS})")
        tail = min(TAIL, n // 10)
        threshold = float(values[n - tail - 1])
        excess = values[n - tail :] - threshold
        shape, scale = _gpd_pwm(excess)
        # Survival levels evenly spaced on a log scale from 1 down to the tail, so the rate
        # is read finely where it matters.
        levels = np.unique(
            np.concatenate([np.linspace(1.0, 0.05, 40), np.geomspace(0.05, tail / n, BODY_POINTS)])
        )[::-1]
        positions = np.clip(np.round(n * (1 - levels)).astype(np.int64), 0, n - tail - 1)
        positions = np.unique(positions)
        return cls(
            pairs=n,
            body=tuple(float(v) for v in values[positions]),
            survival=tuple(float((n - 1 - p) / n) for p in positions),
            threshold=threshold,
            tail_share=tail / n,
            shape=shape,
            scale=scale,
            spread=spread,
            chosen_by=chosen_by,
        )

    def standardise(self, score: float, spread: tuple[float, float] | None) -> float:
        """The value this calibration reads: the score itself, or with ``spread`` how many
        standard deviations it lies above the remains record's mean."""
        if not self.spread:
            return score
        if spread is None:
            raise ValueError("this calibration needs the remains record's spread")
        mean, deviation = spread
        return (score - mean) / deviation

    def pair_rate(self, score: float) -> float:
        """The share of impostor pairs that score ``score`` or more (a standardised score
        with a ``spread`` calibration)."""
        if not math.isfinite(score):
            return 1.0 if score < 0 else RATE_FLOOR
        if score <= self.threshold:
            body, logs = self._body_logs
            at = float(np.interp(score, body, logs, left=0.0, right=math.log(self.tail_share)))
            return max(self.tail_share, min(1.0, math.exp(at)))
        excess = score - self.threshold
        if abs(self.shape) < 1e-9:
            survival = math.exp(-excess / self.scale)
        else:
            base = 1.0 + self.shape * excess / self.scale
            survival = 0.0 if base <= 0 else base ** (-1.0 / self.shape)
        return max(RATE_FLOOR, self.tail_share * survival)

    @cached_property
    def _body_logs(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The body's scores and the logs of their survival, as arrays: made once, not
        on every pair read."""
        return np.asarray(self.body), np.log(np.asarray(self.survival))

    def points(self, score: float) -> float:
        """Natural-log points of a face score: about 0 for a typical stranger."""
        return -math.log(self.pair_rate(score)) - 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "body": list(self.body),
            "survival": list(self.survival),
            "threshold": self.threshold,
            "tail_share": self.tail_share,
            "shape": self.shape,
            "scale": self.scale,
            "spread": self.spread,
            "chosen_by": self.chosen_by,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            pairs=int(data["pairs"]),
            body=tuple(float(v) for v in data["body"]),
            survival=tuple(float(v) for v in data["survival"]),
            threshold=float(data["threshold"]),
            tail_share=float(data["tail_share"]),
            shape=float(data["shape"]),
            scale=float(data["scale"]),
            spread=bool(data.get("spread", False)),  # stored before the choice existed: raw
            chosen_by=str(data.get("chosen_by", "")),
        )


def points_rate(points: float) -> float:
    """The per-pair rate that a total of ``points`` stands for (the inverse of ``points``)."""
    return min(1.0, math.exp(-(points + 1.0)))


def _gpd_pwm(excess: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Generalised Pareto shape and scale from exceedances, by probability-weighted moments
    (Hosking & Wallis 1987), which stay sensible for the bounded tails of similarities."""
    y = np.sort(excess)
    n = len(y)
    a0 = float(y.mean())
    p = (np.arange(1, n + 1) - 0.35) / n
    a1 = float((y * (1 - p)).mean())
    if a0 <= 0 or a0 - 2 * a1 <= 0:
        return 0.0, max(a0, 1e-6)
    k = a0 / (a0 - 2 * a1) - 2
    scale = 2 * a0 * a1 / (a0 - 2 * a1)
    return -k, max(scale, 1e-9)
