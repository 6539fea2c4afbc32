"""Face fusion, calibration to a false-candidate rate, and the words a reviewer reads."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from opendvi.core.scoring import (
    Calibration,
    FaceSet,
    Spread,
    fuse,
    fuse_groups,
    fuse_many,
    open_set_misses,
    points_rate,
    search_rate,
    spreads_of,
    standardise_each,
)
from opendvi.matching.calibration import SELF_TEST_MATES, SelfTest, choose_spread


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_fusion_keeps_the_best_pair_and_weights_by_quality() -> None:
    rng = np.random.default_rng(1)
    base = unit(rng.normal(size=(1, 64)))
    near = unit(base + 0.2 * rng.normal(size=(1, 64)))
    far = unit(rng.normal(size=(1, 64)))
    report = FaceSet([11, 12], np.vstack([near, far]), np.array([0.9, 0.9], np.float32))
    remains = FaceSet([21], base, np.array([0.8], np.float32))
    evidence = fuse(report, remains)
    assert evidence is not None
    assert evidence.pair == (11, 21)
    assert evidence.best == pytest.approx((near @ base.T).item(), abs=1e-6)
    assert evidence.pairs == 2
    assert evidence.weighted < evidence.best
    assert evidence.score == evidence.best
    # A poor photo of a stranger counts for less than a good one.
    poor = FaceSet([11, 12], np.vstack([near, far]), np.array([0.9, 0.1], np.float32))
    assert fuse(poor, remains).weighted > evidence.weighted  # type: ignore[union-attr]
    assert (
        fuse(FaceSet([], np.empty((0, 64), np.float32), np.empty(0, np.float32)), remains) is None
    )


def test_fusing_many_records_at_once_equals_one_at_a_time() -> None:
    rng = np.random.default_rng(2)
    sizes = [1, 3, 2, 1]
    vectors = unit(rng.normal(size=(sum(sizes), 32)))
    quality = rng.uniform(0.3, 1, sum(sizes)).astype(np.float32)
    starts = np.cumsum([0, *sizes[:-1]]).astype(np.int64)
    probe = FaceSet([1, 2], unit(rng.normal(size=(2, 32))), np.array([0.5, 0.9], np.float32))
    scores, weighted = fuse_many(probe, vectors, quality, starts)
    for k, (start, size) in enumerate(zip(starts, sizes, strict=True)):
        group = FaceSet(
            list(range(size)), vectors[start : start + size], quality[start : start + size]
        )
        one = fuse(probe, group)
        assert one is not None
        assert scores[k] == pytest.approx(one.score, abs=1e-5)
        assert weighted[k] == pytest.approx(one.weighted, abs=1e-5)


def test_calibration_predicts_the_tail_of_held_out_impostors() -> None:
    rng = np.random.default_rng(3)
    fitted = Calibration.fit(rng.normal(0.0, 0.1, 2_000_000))
    held_out = rng.normal(0.0, 0.1, 4_000_000)
    for rate in (1e-2, 1e-3, 1e-4):
        score = float(np.quantile(held_out, 1 - rate))
        assert fitted.pair_rate(score) == pytest.approx(rate, rel=0.25)
    # Beyond what was measured, the fitted tail still falls like the true one (within 2×).
    true_rate = 0.5 * math.erfc(0.55 / 0.1 / math.sqrt(2))  # P(X > 0.55), about 2e-8
    assert true_rate / 2 < fitted.pair_rate(0.55) < true_rate * 2
    # Monotone, bounded and stored losslessly.
    scores = np.linspace(-0.5, 1.0, 200)
    rates = [fitted.pair_rate(float(s)) for s in scores]
    assert all(a >= b for a, b in itertools.pairwise(rates))
    assert rates[-1] > 0 and rates[0] <= 1
    assert Calibration.from_json(fitted.to_json()) == fitted


def test_too_few_impostor_pairs_cannot_calibrate() -> None:
    with pytest.raises(ValueError, match="too few"):
        Calibration.fit(np.zeros(100))


def test_points_turn_back_into_the_same_rate() -> None:
    fitted = Calibration.fit(np.random.default_rng(4).normal(0, 0.1, 100_000))
    for score in (0.0, 0.2, 0.35, 0.5):
        assert points_rate(fitted.points(score)) == pytest.approx(fitted.pair_rate(score))
    # A typical stranger scores about zero points.
    assert abs(fitted.points(0.0) - (math.log(2) - 1)) < 0.05


def test_a_search_of_n_records_multiplies_the_chance_of_a_stranger() -> None:
    assert search_rate(1e-6, 1000) == pytest.approx(1 - (1 - 1e-6) ** 1000)
    assert search_rate(1e-6, 1000) == pytest.approx(1e-3, rel=1e-3)
    assert search_rate(0.5, 100) == pytest.approx(1.0)
    assert search_rate(2.0, 10) == 1.0
    assert search_rate(0.0, 10) == 0.0


def test_a_spread_leaves_out_the_pair_being_judged_and_is_never_zero() -> None:
    scores = np.array([0.2, 0.4, 0.9, float("-inf")])
    spread = Spread.of(scores)
    assert spread.without() == pytest.approx((0.5, np.std([0.2, 0.4, 0.9])))
    assert spread.without(0.9) == pytest.approx((0.3, 0.1))
    assert Spread.of([0.5, 0.5]).without() == (0.5, 1e-3)
    assert Spread.of([]).without() == (0.0, 1.0)
    # Each score of a search against the others, as a pair is read against its record.
    each = standardise_each(scores[:3])
    for k, value in enumerate(scores[:3]):
        mean, deviation = spread.without(float(value))
        assert each[k] == pytest.approx((value - mean) / deviation)
    # Against a sample: a score outside it is read against the whole sample.
    sample = np.array([True, True, True, False])
    scores = np.array([0.2, 0.4, 0.9, 0.7])
    each = standardise_each(scores, sample)
    assert each[1] == pytest.approx((0.4 - 0.55) / 0.35)
    assert each[3] == pytest.approx((0.7 - 0.5) / np.std([0.2, 0.4, 0.9]))


def test_open_set_misses_counts_true_matches_not_first_or_below_the_threshold() -> None:
    tops = [float(v) for v in range(10)]  # FPIR 0.1 of 10 searches: the threshold is 8
    mated = [(9.5, 1.0), (8.5, 9.0), (7.0, 1.0), (8.0, 1.0), (20.0, 19.0)]
    # found: 9.5 (first, above 8), 20 (first, above 8); missed: second place, 7 and 8 (not above)
    assert open_set_misses(tops, mated) == pytest.approx(3 / 5)
    with pytest.raises(ValueError):
        open_set_misses([], mated)


def test_a_spread_calibration_reads_scores_relative_to_the_record_and_round_trips() -> None:
    rng = np.random.default_rng(5)
    fitted = Calibration.fit(rng.normal(0, 1, 100_000), spread=True, chosen_by="measured")
    assert fitted.standardise(0.7, (0.5, 0.1)) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="spread"):
        fitted.standardise(0.7, None)
    assert Calibration.from_json(fitted.to_json()) == fitted
    raw = Calibration.fit(rng.normal(0, 1, 100_000))
    assert raw.standardise(0.7, (0.5, 0.1)) == 0.7
    # Calibrations stored before the choice existed read scores as they are.
    old = {k: v for k, v in raw.to_json().items() if k not in ("spread", "chosen_by")}
    assert Calibration.from_json(old).spread is False


def _self_test(mate_at: str, searches: int = 200, gallery: int = 2_000) -> SelfTest:
    """Searches whose strangers' scores differ in centre and width from one photo to the
    next; the true match lies 5 standard deviations above its search's strangers
    (``relative``) or at one score, 0.9, above every stranger however wide they spread
    (``fixed``). Every other search has a true match."""
    rng = np.random.default_rng(11)
    test = SelfTest()
    widest = 0.12 if mate_at == "relative" else 0.3
    for k in range(searches):
        mean, width = rng.uniform(0.0, 0.3), rng.uniform(0.02, widest)
        scores = rng.normal(mean, width, gallery)
        if mate_at == "fixed":
            scores = np.minimum(scores, 0.85)
        spread, top = Spread.of(scores), float(scores.max())
        top_read = (top - spread.without(top)[0]) / spread.without(top)[1]
        if k % 2:
            test.tops[False].append(top)
            test.tops[True].append(top_read)
            continue
        mate = mean + 5 * width if mate_at == "relative" else 0.9
        centre, deviation = spread.without()
        test.mated[False].append((mate, top))
        test.mated[True].append(((mate - centre) / deviation, top_read))
    return test


def test_the_self_test_chooses_spread_only_where_it_finds_more_true_matches() -> None:
    relative = _self_test("relative")
    assert relative.misses(spread=True) < relative.misses(spread=False)
    spread, why = choose_spread(relative)
    assert spread
    assert why.startswith("scores read against each remains record's spread")
    assert "searching 100 reports' photos for their own other photos" in why

    fixed = _self_test("fixed")
    assert fixed.misses(spread=False) == 0.0 < fixed.misses(spread=True)
    spread, why = choose_spread(fixed)
    assert not spread and why.startswith("scores read as they are (searching 100")

    few = _self_test("relative", searches=2 * (SELF_TEST_MATES - 1))
    spread, why = choose_spread(few)
    assert not spread and f"several photos to compare: {SELF_TEST_MATES - 1}," in why

    # A tie keeps the scores as they are.
    tied = _self_test("relative")
    tied.mated[True] = tied.mated[False]
    tied.tops[True] = tied.tops[False]
    assert not choose_spread(tied)[0]


def _face_set(rng: np.random.Generator, count: int, first_id: int) -> FaceSet:
    vectors = rng.standard_normal((count, 128)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    quality = rng.uniform(0, 1, count).astype(np.float32)
    if count > 1 and rng.random() < 0.3:
        vectors[1] = vectors[0]  # a tie for the best pair
    if rng.random() < 0.2:
        quality[:] = 0  # no weight: the plain mean
    return FaceSet(list(range(first_id, first_id + count)), vectors, quality)


@pytest.mark.parametrize("seed", range(5))
def test_fusing_many_records_at_once_gives_each_pairs_figures_to_the_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    probe = _face_set(rng, int(rng.integers(1, 5)), 1)
    others = [_face_set(rng, int(rng.integers(0, 5)), 100 * (k + 1)) for k in range(60)]
    if rng.random() < 0.5:
        # The probe's own face: the best pair is exact.
        others[3] = FaceSet([400], probe.vectors[:1].copy(), np.array([0.5], np.float32))
    lengths = np.array([len(o) for o in others])
    ends = np.cumsum(lengths)
    vectors = np.concatenate([o.vectors.reshape(-1, 128) for o in others])
    quality = np.concatenate([o.quality for o in others])
    ids = [i for o in others for i in o.ids]
    # Records in a shuffled order, as a search chooses them.
    order = rng.permutation(len(others))
    fused = fuse_groups(probe, vectors, quality, ids, (ends - lengths)[order], ends[order])
    for k, evidence in zip(order.tolist(), fused, strict=True):
        alone = fuse(probe, others[k])
        assert evidence == alone
        if alone is not None:
            sims = probe.vectors @ others[k].vectors.T
            assert abs(alone.score - float(sims.max())) < 1e-6
            i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
            if np.isclose(sims, sims.max(), atol=1e-6).sum() == 1:
                assert alone.pair == (probe.ids[i], others[k].ids[j])
            weights = np.outer(probe.quality, others[k].quality)
            mean = (sims * weights).sum() / weights.sum() if weights.sum() > 0 else sims.mean()
            assert abs(alone.weighted - float(mean)) < 1e-5
            assert alone.pairs == sims.size


@pytest.mark.parametrize("seed", range(5))
def test_spreads_measured_together_are_each_ones_alone_to_the_bit(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import opendvi.core.scoring as scoring

    rng = np.random.default_rng(seed)
    sample = [_face_set(rng, int(rng.integers(1, 4)), 10 * (k + 1)) for k in range(300)]
    vectors = np.concatenate([s.vectors for s in sample])
    lengths = np.array([len(s) for s in sample])
    starts = (np.cumsum(lengths) - lengths).astype(np.int64)
    probes = [_face_set(rng, int(rng.integers(0, 4)), 5000 + 10 * k) for k in range(40)]
    monkeypatch.setattr(scoring, "SPREAD_FACES", 7)  # several blocks
    together = spreads_of(probes, vectors, starts)
    for probe, spread in zip(probes, together, strict=True):
        assert spreads_of([probe], vectors, starts) == [spread]
        # The spread of the face scores ``fuse_many`` gives, as sums of the same scores.
        fused, _ = fuse_many(probe, vectors, np.ones(len(vectors), np.float32), starts)
        expected = Spread.of(fused)
        assert spread.count == expected.count == (len(sample) if len(probe) else 0)
        assert abs(spread.total - expected.total) < 1e-4
        assert abs(spread.squares - expected.squares) < 1e-4
