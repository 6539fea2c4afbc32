"""Random sequences of decisions (hypothesis) on the four pairs of two remains records and
two reports never leave a pair excluded or referred while an identification of it is
proposed or confirmed, never propose one on a pair whose exclusion stands, and never leave
a pair of an identified record in the review queue or its count, whoever acts, in whatever
order, with the evidence changed and the records matched again between the steps.

Each sequence is a new database with two remains records and two reports, matched, then
steps drawn from every use-case that decides on a pair or an identification (judge,
exclude, refer, propose, confirm, object, revoke) by reviewers, a forensic specialist and a
caseworker (who may do none of it), and now and then a record changed and matched again
(so an exclusion resurfaces, and an identified record's new pairs are stored). The test
keeps its own account of which identification stands on which pair and checks each answer
against it (a refusal where the rule says so), then the database after every step.
``OPENDVI_PROPERTY_EXAMPLES`` sets the number of sequences: 100 by default (under a
minute); the PostgreSQL run in CI gives 300, on SQLite all the same.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import or_, select

from opendvi.app import OpenDVI
from opendvi.db.tables import Candidate, Decision, Identification, MissingPerson, Remains
from opendvi.errors import OpenDVIError, Refused
from opendvi.matching import run_matching
from opendvi.people import add_user
from opendvi.records.intake import save_record
from opendvi.review import (
    confirm_identification,
    exclude,
    judge,
    object_to_identification,
    propose_identification,
    refer,
    review_queue,
    revoke_identification,
)
from opendvi.review.queue import in_review_queue
from opendvi.settings import Settings

EXAMPLES = int(os.environ.get("OPENDVI_PROPERTY_EXAMPLES", "100"))
USERS = {
    "rev1": "reviewer",
    "rev2": "reviewer",
    "rev3": "reviewer",
    "for1": "forensic",
    "case1": "caseworker",
}
PAIRS = [(pm, am) for pm in range(2) for am in range(2)]  # (remains, report) of a sequence

user = st.sampled_from(sorted(USERS))
pair = st.sampled_from(range(len(PAIRS)))
step = st.one_of(
    st.tuples(st.just("judge"), pair, user, st.sampled_from(["same", "different", "unsure"])),
    st.tuples(st.just("exclude"), pair, user),
    st.tuples(st.just("refer"), pair, user),
    st.tuples(st.just("propose"), pair, user),
    st.tuples(st.just("confirm"), pair, user),
    st.tuples(st.just("object"), pair, user),
    st.tuples(st.just("revoke"), pair, user),
    st.tuples(
        st.just("change"), pair, st.sampled_from(["remains", "report"]), st.sampled_from("FM")
    ),
)
# Often the way to an identification, so that many sequences confirm one and act after.
towards = st.lists(
    st.tuples(st.just("propose"), pair, st.just("rev1")), min_size=0, max_size=1
).flatmap(
    lambda proposed: st.just(
        proposed
        + [("confirm", p, "rev2") for _, p, _ in proposed]
        + [("confirm", p, "rev3") for _, p, _ in proposed]
    )
)
sequences = st.tuples(towards, st.lists(step, min_size=1, max_size=12)).map(
    lambda parts: [step for part in parts for step in part]
)


@dataclass
class Account:
    """What the test knows: the identification standing on each pair (number, status)."""

    standing: dict[int, tuple[int, str]] = field(default_factory=dict)
    refused: int = 0


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    # Each sequence on a database of its own (a copy of one with the users, in memory-backed
    # files): four records matched, whatever earlier sequences left.
    shm = "/dev/shm" if Path("/dev/shm").is_dir() else None
    folder = Path(tempfile.mkdtemp(prefix="opendvi-integrity-", dir=shm))
    dvi = OpenDVI.open(Settings(data_dir=folder / "template"))
    for name, role in USERS.items():
        add_user(dvi, username=name, role=role, actor="test", password="x" * 12)
    dvi.close()
    yield {"folder": folder, "n": 0, "confirmed": 0, "refused": 0}
    shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def fresh(world: dict[str, Any]) -> Iterator[OpenDVI]:
    world["n"] += 1
    here = world["folder"] / f"sequence-{world['n']}"
    shutil.copytree(world["folder"] / "template", here)
    dvi = OpenDVI.open(Settings(data_dir=here))
    try:
        yield dvi
    finally:
        dvi.close()
        shutil.rmtree(here, ignore_errors=True)


def _refs(n: int, index: int) -> tuple[str, str]:
    pm, am = PAIRS[index]
    return f"PM-{n}-{pm}", f"AM-{n}-{am}"


def _save(dvi: OpenDVI, kind: Any, ref: str, sex: str) -> None:
    with dvi.db.write() as session:
        save_record(session, kind, actor="test", ref=ref, fields={"sex": sex})


def _act(dvi: OpenDVI, account: Account, n: int, drawn: tuple[Any, ...]) -> None:
    action, index = drawn[0], drawn[1]
    pm, am = _refs(n, index)
    standing = account.standing.get(index)
    try:
        if action == "judge":
            judge(dvi, (pm, am), verdict=drawn[3], username=drawn[2])
        elif action in ("exclude", "refer"):
            if action == "exclude":
                exclude(dvi, (pm, am), reason="different teeth", username=drawn[2])
            else:
                refer(dvi, (pm, am), compare=["dental"], reason="", username=drawn[2])
            assert standing is None, f"{action} accepted under identification {standing}"
        elif action == "propose":
            made = propose_identification(
                dvi, (pm, am), primary=["dna"], secondary=[], note="", username=drawn[2]
            )
            account.standing[index] = (made.number, made.status)
        elif action in ("confirm", "object", "revoke") and standing is not None:
            number = standing[0]
            if action == "confirm":
                done = confirm_identification(dvi, number, checked="DNA", username=drawn[2])
            elif action == "object":
                done = object_to_identification(dvi, number, note="no", username=drawn[2])
            else:
                done = revoke_identification(dvi, number, reason="wrong", username=drawn[2])
            if done.status == "revoked":
                del account.standing[index]
            else:
                account.standing[index] = (number, done.status)
        elif action == "change":
            # New evidence on one record (a corrected sex), matched again: an exclusion of
            # its pairs resurfaces; an identified record's pairs are stored again.
            if drawn[2] == "remains":
                _save(dvi, Remains, pm, drawn[3])
            else:
                _save(dvi, MissingPerson, am, drawn[3])
            run_matching(dvi, actor="test")
    except Refused:
        account.refused += 1
    except OpenDVIError:
        account.refused += 1


def _check(dvi: OpenDVI, account: Account, n: int) -> None:
    """What must hold after every step; fails the test otherwise."""
    refs = {ref for index in range(len(PAIRS)) for ref in _refs(n, index)}
    with dvi.db.read() as session:
        remains = dict(
            session.execute(select(Remains.id, Remains.ref).where(Remains.ref.in_(refs))).all()
        )
        reports = dict(
            session.execute(
                select(MissingPerson.id, MissingPerson.ref).where(MissingPerson.ref.in_(refs))
            ).all()
        )
        active = {
            (i.remains_id, i.missing_person_id): (i.id, i.status)
            for i in session.execute(
                select(Identification).where(
                    Identification.remains_id.in_(remains), Identification.status != "revoked"
                )
            ).scalars()
        }
        confirmed = session.execute(
            select(Identification.remains_id, Identification.missing_person_id).where(
                Identification.status == "confirmed"
            )
        ).all()
        confirmed_pm, confirmed_am = {r[0] for r in confirmed}, {r[1] for r in confirmed}
        # The account and the database agree on what stands.
        assert {
            (remains_ref, report_ref): value
            for (pm, am), value in active.items()
            for remains_ref, report_ref in [(remains[pm], reports[am])]
        } == {_refs(n, index): value for index, value in account.standing.items()}
        candidates = session.execute(
            select(Candidate).where(
                or_(Candidate.remains_id.in_(remains), Candidate.missing_person_id.in_(reports))
            )
        ).scalars()
        for c in candidates:
            key = (c.remains_id, c.missing_person_id)
            if key in active:
                assert c.status != "excluded", f"pair {key} excluded under {active[key]}"
                # Referred before it was proposed, perhaps; never decided against after.
                kinds = [
                    d.kind
                    for d in session.execute(
                        select(Decision)
                        .where(Decision.remains_id == key[0], Decision.missing_person_id == key[1])
                        .order_by(Decision.id)
                    ).scalars()
                ]
                since = len(kinds) - kinds[::-1].index("propose_identification")
                assert not {"exclude", "possible_match"} & set(kinds[since:]), (key, kinds)
            identified = c.remains_id in confirmed_pm or c.missing_person_id in confirmed_am
            assert c.record_identified == identified, f"pair {key}: record identified?"
        in_queue = session.execute(
            select(Candidate.remains_id, Candidate.missing_person_id).where(
                *(c for c in in_review_queue() if c is not Candidate.credible),  # any score
                or_(Candidate.remains_id.in_(remains), Candidate.missing_person_id.in_(reports)),
            )
        ).all()
        for pm, am in in_queue:
            assert pm not in confirmed_pm and am not in confirmed_am, "identified, still queued"


def _run(dvi: OpenDVI, n: int, steps: list[tuple[Any, ...]]) -> Account:
    for side in range(2):
        _save(dvi, Remains, f"PM-{n}-{side}", "F")
        _save(dvi, MissingPerson, f"AM-{n}-{side}", "F")
    run_matching(dvi, actor="test")
    account = Account()
    for drawn in steps:
        _act(dvi, account, n, drawn)
        _check(dvi, account, n)
    # The queue a reviewer reads (every listed pair) shows no pair of an identified record.
    identified = {
        ref
        for index, (_, status) in account.standing.items()
        if status == "confirmed"
        for ref in _refs(n, index)
    }
    page = review_queue(dvi, "all")
    assert not [i for i in page.items if {i.pm_ref, i.am_ref} & identified]
    return account


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(steps=sequences)
def test_no_sequence_of_decisions_contradicts_an_identification(
    world: dict[str, Any], steps: list[tuple[Any, ...]]
) -> None:
    with fresh(world) as dvi:
        account = _run(dvi, world["n"], steps)
    world["refused"] += account.refused
    world["confirmed"] += any(s == "confirmed" for _, s in account.standing.values())


def test_the_sequences_reached_confirmed_identifications_and_refusals(
    world: dict[str, Any],
) -> None:
    """Run after the property: enough sequences got to what the rules are about."""
    if world["n"] < 50:
        pytest.skip("too few sequences to say")
    assert world["confirmed"] >= world["n"] // 10
    assert world["refused"] > 0
