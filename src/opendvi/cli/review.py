"""``opendvi exclude``, ``judge``, ``refer`` and ``identify``: reviewers' decisions on a pair,
and identifications proposed, confirmed by two other reviewers, and revoked; ``opendvi review
assign`` and ``unassign``: a pair given to a reviewer to look at, or taken back."""

from __future__ import annotations

from typing import Annotated

import typer

from opendvi.cli.common import signed_in, words

__all__ = ["register"]

identify_app = typer.Typer(
    help="Identifications: propose, confirm (two other reviewers), object, revoke.",
    no_args_is_help=True,
)
review_app = typer.Typer(
    help="Sharing the review out: assign a pair to a reviewer, or take it back.",
    no_args_is_help=True,
)
PmArg = Annotated[str, typer.Argument(help="The remains record's ref.")]
AmArg = Annotated[str, typer.Argument(help="The missing-person report's ref.")]
NumberArg = Annotated[int, typer.Argument(help="The identification's number.")]


def exclude(
    pm_ref: PmArg,
    am_ref: AmArg,
    reason: Annotated[str, typer.Option("--reason", help="Why they are not the same person.")],
) -> None:
    """Record that a remains record and a report are not the same person."""
    from opendvi.review import exclude as exclude_pair

    with signed_in() as (dvi, me):
        done = exclude_pair(dvi, (pm_ref, am_ref), reason=reason, username=me)
    typer.echo(
        f"excluded {pm_ref} / {am_ref} (decision {done.decision_id}); the pair comes back, "
        "flagged, if the evidence behind it changes"
    )


def judge(
    pm_ref: PmArg,
    am_ref: AmArg,
    verdict: Annotated[str, typer.Argument(help="same, different or unsure.")],
    note: Annotated[str, typer.Option("--note", help="What the judgement rests on.")] = "",
) -> None:
    """Record a reviewer's own judgement of a pair, made before seeing its score."""
    from opendvi.review import VERDICTS
    from opendvi.review import judge as judge_pair

    with signed_in() as (dvi, me):
        done = judge_pair(dvi, (pm_ref, am_ref), verdict=verdict, note=note, username=me)
    typer.echo(
        f"{me} judged {pm_ref} / {am_ref}: {VERDICTS[verdict.strip().lower()]} "
        f"(decision {done.decision_id}); `opendvi explain {pm_ref} {am_ref}` shows the score"
    )


def refer(
    pm_ref: PmArg,
    am_ref: AmArg,
    compare: Annotated[
        str, typer.Option("--compare", help="What to compare: dna, fingerprints, dental.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="A note for the record.")] = "",
) -> None:
    """Record a possible match, referred for comparison of primary identifiers."""
    from opendvi.review import refer as refer_pair

    with signed_in() as (dvi, me):
        done = refer_pair(dvi, (pm_ref, am_ref), compare=words(compare), reason=reason, username=me)
    typer.echo(f"{pm_ref} / {am_ref} referred (decision {done.decision_id})")


@identify_app.command("propose")
def identify_propose(
    pm_ref: PmArg,
    am_ref: AmArg,
    primary: Annotated[
        str,
        typer.Option(
            "--primary", help="Primary identifiers that agree: dna, fingerprints, dental."
        ),
    ] = "",
    secondary: Annotated[
        str,
        typer.Option(
            "--secondary",
            help="Secondary evidence that agrees: face, marks, effects, description, "
            "circumstances (two or more, with --note, when there is no primary identifier).",
        ),
    ] = "",
    note: Annotated[str, typer.Option("--note", help="How the evidence agrees.")] = "",
) -> None:
    """Propose that the remains are the reported person; two other reviewers confirm."""
    from opendvi.review import propose_identification

    with signed_in() as (dvi, me):
        proposed = propose_identification(
            dvi,
            (pm_ref, am_ref),
            primary=words(primary),
            secondary=words(secondary),
            note=note,
            username=me,
        )
    number = proposed.number
    typer.echo(
        f"identification {number} proposed: {pm_ref} is {am_ref}, pending confirmation by two "
        f"other reviewers (each signed in: `opendvi identify confirm {number} --checked WHAT`)"
    )


CheckedOpt = Annotated[
    str,
    typer.Option(
        "--checked",
        help="What you checked before confirming: the evidence it rests on, both records.",
    ),
]


@identify_app.command("confirm")
def identify_confirm(number: NumberArg, checked: CheckedOpt) -> None:
    """Add your confirmation, saying what you checked; the second one confirms it."""
    from opendvi.review import confirm_identification

    with signed_in() as (dvi, me):
        status = confirm_identification(dvi, number, checked=checked, username=me).status
    typer.echo(
        f"identification {number} confirmed: both records are now identified"
        if status == "confirmed"
        else f"identification {number}: first confirmation recorded; one more reviewer needed"
    )


RevokeReasonOpt = Annotated[str, typer.Option("--reason", help="Why it is revoked.")]


@identify_app.command("revoke")
def identify_revoke(number: NumberArg, reason: RevokeReasonOpt) -> None:
    """Revoke an identification: records reopen, pending notifications are cancelled."""
    from opendvi.review import revoke_identification

    with signed_in() as (dvi, me):
        revoke_identification(dvi, number, reason=reason, username=me)
    typer.echo(f"identification {number} revoked; its history is kept")


@review_app.command("assign")
def review_assign(
    pm_ref: PmArg,
    am_ref: AmArg,
    to: Annotated[str, typer.Option("--to", help="The reviewer's user name.")],
) -> None:
    """Give a pair to a reviewer to look at (in place of whoever had it)."""
    from opendvi.review.assignment import assign

    with signed_in() as (dvi, me):
        done = assign(dvi, (pm_ref, am_ref), to=to, username=me)
    was = f" (was {done.before})" if done.before and done.before != done.to else ""
    typer.echo(
        f"{pm_ref} / {am_ref} assigned to {done.to}{was}; "
        f"the queue shows it under 'assigned to' {done.to}"
    )


@review_app.command("unassign")
def review_unassign(pm_ref: PmArg, am_ref: AmArg) -> None:
    """Take a pair back from the reviewer it was assigned to."""
    from opendvi.review.assignment import unassign

    with signed_in() as (dvi, me):
        done = unassign(dvi, (pm_ref, am_ref), username=me)
    typer.echo(f"{pm_ref} / {am_ref} taken back from {done.before}; it is assigned to nobody")


NoteOpt = Annotated[
    str, typer.Option("--note", help="What you object to: what in the evidence does not hold.")
]


@identify_app.command("object")
def identify_object(number: NumberArg, note: NoteOpt) -> None:
    """Record an objection to an identification: it stays as it is, put to its confirmers."""
    from opendvi.review import object_to_identification

    with signed_in() as (dvi, me):
        found = object_to_identification(dvi, number, note=note, username=me)
    to = " and ".join(found.confirmed_by) or "the reviewers who confirm it"
    typer.echo(
        f"objection to identification {number} recorded; it is still {found.status}, and the "
        f"objection is shown to {to} (revoking it: `opendvi identify revoke {number} "
        "--reason WHY`)"
    )


def register(app: typer.Typer) -> None:
    app.command()(exclude)
    app.command()(judge)
    app.command()(refer)
    app.add_typer(identify_app, name="identify")
    app.add_typer(review_app, name="review")
