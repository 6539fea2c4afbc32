"""``opendvi notify``: telling families — the notification tasks, their words, plan,
checklist and approval, the e-mail sent, and what was done (docs/notification.md)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opendvi.cli.common import opened, plain_console, signed_in, signed_in_name, words

# The words of the notification rules (core imports the standard library only).
from opendvi.core.notification import (
    CARRIED_OUT_BY,
    CHANNELS,
    CHECKLIST,
    OUTCOMES,
    STEP_WORDS,
    STEPS,
)

if TYPE_CHECKING:
    from opendvi.notify.contacts import ContactView
    from opendvi.notify.queue import TaskView

__all__ = ["register"]

notify_app = typer.Typer(
    help="Telling families: notification tasks, their words, plan, approval, and what was done.",
    no_args_is_help=True,
)
TaskArg = Annotated[int, typer.Argument(help="The task's number (see `opendvi notify list`).")]


def _names(names: list[str]) -> str:
    return " and ".join(names) if names else "nobody yet"


@notify_app.command("list")
def notify_list(
    everything: Annotated[
        bool, typer.Option("--all", help="Closed and cancelled tasks too.")
    ] = False,
) -> None:
    """Notification tasks still open, the soonest due first; overdue ones are marked."""
    from rich import box
    from rich.table import Table

    from opendvi.notify import reader_role, tasks

    with opened() as dvi:
        role = reader_role(dvi, signed_in_name(dvi))
        found = tasks(dvi, role=role, only_open=not everything, limit=None)
    if not found:
        typer.echo("no notification tasks" if everything else "no open notification tasks")
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("task", "report", "contact", "channel", "lang", "status", "due"):
        if name == "contact":
            table.add_column(name, min_width=10, overflow="fold")
        else:
            table.add_column(name, no_wrap=True)
    for task in found:
        due = f"{task.due_on or '-'}{' OVERDUE' if task.overdue else ''}"
        table.add_row(
            str(task.id), task.am_ref, task.contact, task.channel, task.language, task.status, due
        )
    plain_console().print(table)


def _contact_lines(contact: ContactView) -> list[str]:
    """The contact and how to reach them, in two lines."""
    return [
        f"contact: {contact.name}"
        + (f" ({contact.relationship})" if contact.relationship else "")
        + f", language {contact.language or '-'}",
        f"  chose: {','.join(contact.channels) or 'no way given'}; e-mail "
        f"{contact.email or '-'}; phone {contact.phone or '-'}"
        + (f"; address {contact.address}" if contact.address else ""),
    ]


def _about(view: TaskView) -> list[str]:
    """The task, its identification and its contact, in lines."""
    lines = [
        f"task {view.id}: {view.status}"
        + (f", due {view.due_on}" if view.due_on else "")
        + (" — OVERDUE" if view.overdue else ""),
        f"identification {view.identification} ({view.identification_status}, "
        f"{view.method}): remains {view.pm_ref} are {view.am_ref}"
        + (f", {view.missing_name}" if view.missing_name else ""),
        *_contact_lines(view.contact_details),
    ]
    if view.contact_details.shown == "masked":
        lines.append(f"  (masked: `opendvi notify reveal {view.id} --why TEXT --by USER`)")
    if view.cancel_reason:
        lines.append(f"cancelled: {view.cancel_reason}")
    lines.append("not told: nobody" if not view.unreached else "not told:")
    lines += [f"  {other.why}" for other in view.unreached]
    return lines


def _plan(view: TaskView) -> list[str]:
    """Who tells the family and how, who saved and approved the words, the checklist."""
    approved = (
        f"; approved by {view.approved_by} on {view.approved_at:%Y-%m-%d %H:%M}"
        if view.approved_by and view.approved_at
        else "; not approved"
    )
    lines = [
        f"plan: {view.channel}, in {view.language or '-'}, told by {_names(view.assigned)}",
        "words saved by " + (view.drafted_by or "nobody yet") + approved,
        "checklist:",
    ]
    lines += [
        f"  [{'x' if view.checklist.get(item) else ' '}] {label} ({item})"
        for item, label in CHECKLIST.items()
    ]
    return lines


def _print_steps(view: TaskView) -> None:
    from rich import box
    from rich.table import Table

    console = plain_console()
    if not view.steps:
        console.print("steps: none yet", soft_wrap=True)
        return
    console.print("steps:")
    table = Table(box=box.SIMPLE_HEAD)
    for name in ("on", "what", "outcome", "by", "note"):
        table.add_column(name, no_wrap=name == "on")
    for step in view.steps:
        table.add_row(
            str(step.on or ""),
            STEP_WORDS.get(step.kind, step.kind),
            OUTCOMES.get(step.outcome, step.outcome),
            step.by,
            step.note,
        )
    console.print(table)


@notify_app.command("show")
def notify_show(task_id: TaskArg) -> None:
    """Everything about one task: the contact, why others are not told, the plan, the
    checklist, the words and what was done."""
    from opendvi.notify import reader_role, task_view

    with opened() as dvi:
        view = task_view(dvi, task_id, role=reader_role(dvi, signed_in_name(dvi)))
    console = plain_console()
    for line in _about(view) + _plan(view):
        console.print(line, soft_wrap=True)
    if view.subject:
        console.print(f"subject: {view.subject}", soft_wrap=True)
    console.print("words:", soft_wrap=True)
    console.print(view.draft or "(none)", soft_wrap=True)
    if view.note:
        console.print(f"note for staff: {view.note}", soft_wrap=True)
    _print_steps(view)


@notify_app.command("reveal")
def notify_reveal(
    task_id: TaskArg,
    why: Annotated[str, typer.Option("--why", help="Why you need to see the contact's details.")],
) -> None:
    """The task's contact in full, for a reason kept in the audit log, this once."""
    from opendvi.notify import reveal_contact

    with signed_in() as (dvi, me):
        contact = reveal_contact(dvi, task_id, username=me, why=why)
    console = plain_console()
    for line in _contact_lines(contact):
        console.print(line, soft_wrap=True)


def _read_words(source: str) -> str:
    from opendvi.errors import InputError

    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise InputError(f"--file: cannot read {source}: {exc.strerror}", field="file") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(
            f"--file: {source} is not UTF-8 text; save it as UTF-8 and try again", field="file"
        ) from None


@notify_app.command("words")
def notify_words(
    task_id: TaskArg,
    file: Annotated[
        str, typer.Option("--file", help="The words, a UTF-8 text file; - reads standard input.")
    ],
    subject: Annotated[
        str | None,
        typer.Option("--subject", help="Subject of the e-mail or letter (default: keep it)."),
    ] = None,
) -> None:
    """Save the words you have read (and perhaps changed); another person approves them."""
    from opendvi.notify import save_words

    text = _read_words(file)
    with signed_in() as (dvi, by):
        change = save_words(dvi, task_id, subject=subject, text=text, username=by)
    typer.echo(
        f"task {task_id}: words saved by {by}; another caseworker or admin approves them "
        f"(signed in as themselves: `opendvi notify approve {task_id}`)"
    )
    if change.approval_withdrawn:
        typer.echo("the earlier approval is withdrawn: changed words are approved again")


@notify_app.command("redraft")
def notify_redraft(
    task_id: TaskArg,
    language: Annotated[
        str, typer.Option("--language", help="Language code: en, es, fr, ar, uk, ru, ...")
    ],
) -> None:
    """New words from the template, in a language; they are read and saved again."""
    from opendvi.notify import redraft
    from opendvi.notify.texts import LANGUAGES, language_of

    with signed_in() as (dvi, by):
        after = redraft(dvi, task_id, language=language, username=by).task
    used = language_of(after.language)
    typer.echo(
        f"task {task_id}: new words from the template in {LANGUAGES[used]} ({used}); read them "
        f"(`opendvi notify show {task_id}`), then save them (`opendvi notify words {task_id} "
        "--file FILE`)"
    )
    if after.note:
        typer.echo(f"note: {after.note}")


ChannelOpt = Annotated[
    str,
    typer.Option(
        "--channel",
        help=f"How the family is told: {', '.join(CHANNELS)} (e-mail only if they chose it).",
    ),
]
AssignOpt = Annotated[
    str, typer.Option("--assign", help="The two people who tell the family: a,b (usernames).")
]
DueOpt = Annotated[
    dt.datetime | None,
    typer.Option(
        "--due",
        formats=["%Y-%m-%d"],
        help="Tell the family by this date, YYYY-MM-DD (default: keep the due date).",
    ),
]


@notify_app.command("plan")
def notify_plan(
    task_id: TaskArg, channel: ChannelOpt, assign: AssignOpt, due: DueOpt = None
) -> None:
    """How the family is told, by which two staff, by when."""
    from opendvi.notify import plan

    with signed_in() as (dvi, by):
        change = plan(
            dvi,
            task_id,
            channel=channel.strip(),
            assigned=words(assign),
            due_on=due.date() if due is not None else "keep",
            username=by,
        )
    after = change.task
    typer.echo(
        f"task {task_id}: {after.channel}, told by {_names(after.assigned)}, due "
        f"{after.due_on or '-'}"
    )
    if change.approval_withdrawn:
        typer.echo("the earlier approval is withdrawn: a second person approves the new plan")
    if change.drafted_for:
        typer.echo(
            f"the words were drafted for {change.drafted_for}; draft them again for "
            f"{after.channel}: `opendvi notify redraft {task_id} --language "
            f"{after.language or 'en'}`"
        )


@notify_app.command("check")
def notify_check(
    task_id: TaskArg,
    items: Annotated[list[str], typer.Argument(help=f"Items done: {', '.join(CHECKLIST)}.")],
    undo: Annotated[bool, typer.Option("--undo", help="Mark the items not done.")] = False,
) -> None:
    """Tick items of the checklist of the two people who tell the family."""
    from opendvi.errors import InputError
    from opendvi.notify import set_checklist

    unknown = [item for item in items if item not in CHECKLIST]
    if unknown:
        raise InputError(
            f"checklist: unknown item {unknown[0]!r}; the items are {', '.join(CHECKLIST)}",
            field="checklist",
        )
    with signed_in() as (dvi, by):
        after = set_checklist(dvi, task_id, items=dict.fromkeys(items, not undo), username=by).task
    for item, label in CHECKLIST.items():
        typer.echo(f"[{'x' if after.checklist.get(item) else ' '}] {label} ({item})")


@notify_app.command("approve")
def notify_approve(task_id: TaskArg) -> None:
    """Approve the words and the plan (you did not write them); only then are they used."""
    from opendvi.notify import approve

    with signed_in() as (dvi, by):
        after = approve(dvi, task_id, username=by).task
    then = (
        f"send it: `opendvi notify send {task_id}`"
        if after.channel == "email"
        else "record it when it is done: `opendvi notify log "
        f"{task_id} {CARRIED_OUT_BY[after.channel]} --outcome told`"
    )
    typer.echo(f"task {task_id}: words and plan approved by {by}; {then}")


@notify_app.command("send")
def notify_send(task_id: TaskArg) -> None:
    """Send the approved e-mail, as plain text (or put it in the outbox without a mail
    server)."""
    from opendvi.notify import send, transport_for

    with signed_in() as (dvi, by):
        way = transport_for(dvi.settings)
        sent = send(dvi, task_id, username=by, transport=way)
    typer.echo(f"task {task_id}: e-mail to {sent.task.contact_details.email} {sent.where}")
    if way.name == "outbox":
        typer.echo(
            "It waits in the outbox (OPENDVI_OUTBOX_DIR) until someone sends it from a "
            "connected machine."
        )


@notify_app.command("log")
def notify_log(
    task_id: TaskArg,
    kind: Annotated[str, typer.Argument(help=f"What was done: {', '.join(STEPS)}.")],
    outcome: Annotated[
        str,
        typer.Option("--outcome", help=f"For a visit, call or letter: {', '.join(OUTCOMES)}."),
    ] = "",
    on: Annotated[
        dt.datetime | None,
        typer.Option("--on", formats=["%Y-%m-%d"], help="When, YYYY-MM-DD (default: today)."),
    ] = None,
    note: Annotated[str, typer.Option("--note", help="What happened, in a few words.")] = "",
) -> None:
    """Record a visit, call or letter with its outcome, the family's acknowledgement, a
    follow-up, a referral, a request to see photos, photos viewed, or a note."""
    from opendvi.notify import record_step

    kind, outcome = kind.strip(), outcome.strip()
    with signed_in() as (dvi, by):
        after = record_step(
            dvi,
            task_id,
            kind=kind,
            outcome=outcome,
            on=on.date() if on is not None else None,
            note=note,
            username=by,
        ).task
    what = STEPS[kind] + (f" ({OUTCOMES.get(outcome, outcome)})" if outcome else "")
    typer.echo(f"task {task_id}: {what} recorded; the task is {after.status}")


EndingOpt = Annotated[str, typer.Option("--note", help="How it ended (kept with the task).")]


@notify_app.command("close")
def notify_close(task_id: TaskArg, note: EndingOpt) -> None:
    """Close a task once the family was told (and, usually, acknowledged it)."""
    from opendvi.notify import close

    with signed_in() as (dvi, by):
        close(dvi, task_id, note=note, username=by)
    typer.echo(f"task {task_id}: closed")


def register(app: typer.Typer) -> None:
    app.add_typer(notify_app, name="notify")
