"""``opendvi withdraw``, ``close``, ``release`` and ``retention``: a photo or a report
withdrawn and erased, a case closed, remains released, and what the retention settings no
longer keep listed and erased."""

from __future__ import annotations

from typing import Annotated

import typer

from opendvi.cli.common import ActorOpt, QuietOpt, acting, echo_error, opened, signed_in

__all__ = ["register"]

withdraw_app = typer.Typer(
    help="Withdraw a photo or a report: erased at once, an audit event kept.",
    no_args_is_help=True,
)
REASONS = "contact_request, wrong_person, legal_basis_ended or duplicate"
ReasonOpt = Annotated[str, typer.Option("--reason", help=f"Why, in one word: {REASONS}.")]


@withdraw_app.command("photo")
def withdraw_photo_cmd(
    photo_id: Annotated[int, typer.Argument(help="Photo id (see `opendvi faces list REF`).")],
    reason: ReasonOpt,
) -> None:
    """Erase one photo: its original, its served copy, its faces and their embeddings."""
    from opendvi.records import withdraw_photo

    with signed_in() as (dvi, me):
        done = withdraw_photo(dvi, photo_id, actor=me, reason=reason)
    typer.echo(
        f"photo {photo_id} of {done.ref} erased: {done.faces} faces, {done.candidates} "
        "candidate pairs; the record is queued to be matched again"
    )


@withdraw_app.command("report")
def withdraw_report_cmd(
    ref: Annotated[str, typer.Argument(help="The missing-person report's reference.")],
    reason: ReasonOpt,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask to confirm.")] = False,
) -> None:
    """Withdraw a report at its reporting contact's request: its person's description,
    photos, faces, marks, effects and contacts' details are erased; the reference and the
    history stay."""
    from opendvi.records import withdraw_report

    if not yes:
        typer.confirm(f"Erase everything report {ref} says about its person?", abort=True)
    with signed_in() as (dvi, me):
        done = withdraw_report(dvi, ref, actor=me, reason=reason)
    typer.echo(
        f"report {ref} withdrawn: {done.photos} photos, {done.faces} faces, {done.contacts} "
        f"contacts' details and {done.candidates} candidate pairs erased"
    )


def close(
    kind: Annotated[str, typer.Argument(help="missing or unidentified.")],
    ref: Annotated[str, typer.Argument(help="The record's reference.")],
) -> None:
    """Close a record's case (retention counts from this day)."""
    from opendvi.records import close_case

    if kind not in ("missing", "unidentified"):
        echo_error(f"{kind!r} is not a kind of record; write missing or unidentified")
        raise typer.Exit(2)
    with signed_in() as (dvi, me):
        close_case(dvi, "missing" if kind == "missing" else "remains", ref, actor=me)
    typer.echo(f"{ref} closed")


def release(
    ref: Annotated[str, typer.Argument(help="The remains record's reference.")],
) -> None:
    """Record that identified remains were released (retention counts from this day)."""
    from opendvi.records import release_remains

    with signed_in() as (dvi, me):
        release_remains(dvi, ref, actor=me)
    typer.echo(f"{ref} released")


def retention(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what is due; erase nothing.")
    ] = False,
    apply: Annotated[bool, typer.Option("--apply", help="Erase what is due.")] = False,
    quiet: QuietOpt = False,
    actor: ActorOpt = None,
) -> None:
    """List (--dry-run) or erase (--apply) what the retention settings no longer keep."""
    from opendvi.infra.progress import Bar
    from opendvi.retention import apply_retention, plan_retention

    if dry_run == apply:
        echo_error("say --dry-run to list what is due, or --apply to erase it")
        raise typer.Exit(2)
    with opened() as dvi:
        plan = plan_retention(dvi)
        if plan.empty:
            typer.echo("nothing to erase")
            return
        if dry_run:
            for due in plan.kinds:
                if due.refs:
                    typer.echo(
                        f"{due.words}: {len(due.refs)} records, {due.photos} photo(s), "
                        f"{due.faces} face(s), {due.contacts} contact(s): {', '.join(due.refs)}"
                    )
            typer.echo("nothing was erased; --apply erases it")
            return
        with Bar("Erasing", quiet=quiet) as bar:
            done = apply_retention(dvi, actor=acting(actor), progress=bar.update)
    typer.echo(
        f"erased {done.photos} photos, {done.faces} faces, {done.contacts} contacts' details"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(withdraw_app, name="withdraw")
    app.command()(close)
    app.command()(release)
    app.command()(retention)
