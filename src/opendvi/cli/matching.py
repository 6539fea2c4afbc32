"""``opendvi match`` and ``opendvi explain``: the candidate lists, and why a pair scores as
it does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from opendvi.cli.common import ActorOpt, QuietOpt, WorkersOpt, acting, interrupted, opened

if TYPE_CHECKING:
    from opendvi.app import OpenDVI
    from opendvi.matching.explain import Explanation

__all__ = ["match_queued", "register"]


def match_queued(
    dvi: OpenDVI, *, quiet: bool, actor: str | None, everything: bool, workers: int | None = None
) -> None:
    """Match what is queued (everything, recalibrated, with ``everything``, its pairs scored
    by ``workers`` processes) and say what the lists hold now."""
    from opendvi.infra.progress import Bar
    from opendvi.matching import run_matching

    with Bar("Matching", quiet=quiet) as bar:
        report = run_matching(
            dvi,
            actor=acting(actor),
            everything=everything,
            progress=bar.update,
            processes=workers or dvi.settings.resolved_workers(),
        )
    if quiet:
        return
    if not report.records:
        typer.echo("matching: nothing waiting (`opendvi match --all` rebuilds every list)")
        return
    with_candidate = report.remains - len(report.no_candidate)
    typer.echo(
        f"matching: {report.records} records — of {report.remains} remains records, "
        f"{with_candidate} have a credible candidate; {report.calibration}"
    )
    if report.no_candidate:
        shown = ", ".join(report.no_candidate[:10])
        more = f" and {len(report.no_candidate) - 10} more" if len(report.no_candidate) > 10 else ""
        typer.echo(
            f"no credible candidate for {len(report.no_candidate)} remains record(s): {shown}{more}"
        )


def match(
    everything: Annotated[
        bool,
        typer.Option("--all", help="Recalibrate and rebuild every candidate list from scratch."),
    ] = False,
    quiet: QuietOpt = False,
    actor: ActorOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Match new and changed records (imports do this unless --no-match)."""
    with opened() as dvi, interrupted("Lists finished so far are saved; run it again to finish."):
        match_queued(dvi, quiet=quiet, actor=actor, everything=everything, workers=workers)


def _print(found: Explanation) -> None:
    from rich.console import Console
    from rich.table import Table

    pm_ref, am_ref = found.pm_ref, found.am_ref
    console = Console()
    console.print(f"{pm_ref} (remains) and {am_ref} (missing-person report)", soft_wrap=True)
    table = Table()
    table.add_column("factor")
    table.add_column("makes a match", max_width=18)
    table.add_column("why")
    for name, factor in found.factors.items():
        if name not in ("exclusion", "referral"):
            table.add_row(name, factor.get("weight", ""), factor.get("why", ""))
    odds = found.odds
    table.add_row("total", "", odds.sentence, style="bold")
    console.print(table)
    lines = []
    face = found.factors.get("face", {})
    if "pair" in face:
        lines.append(
            f"driving pair: face {face['pair'][0]} of {am_ref} and face {face['pair'][1]} of "
            f"{pm_ref} ({face['best_pair']:.3f}; quality-weighted over {face['pairs']} pairs: "
            f"{face['weighted']:.3f})"
        )
    lines.append(f"face model: {found.model[0]} {found.model[1]}; {found.calibration}")
    lines.append(f"verdict: {found.verdict()}")
    if odds.floored:
        lines.append(f"not said rarer because {odds.floor}")
    exclusion = found.factors.get("exclusion")
    if exclusion:
        lines.append(
            f"excluded on {exclusion['on']} by {exclusion['by']}: {exclusion['reason']}"
            + ("" if found.status == "excluded" else " — the evidence has changed since")
        )
    if found.stored:
        lines.append(
            f"listed: rank {found.rank_for_remains or '-'} for {pm_ref}, "
            f"rank {found.rank_for_missing or '-'} for {am_ref}"
        )
    else:
        lines.append("not among the stored candidates of either record")
    for line in lines:
        console.print(line, soft_wrap=True)


def explain(
    pm_ref: Annotated[str, typer.Argument(help="The remains record's ref.")],
    am_ref: Annotated[str, typer.Argument(help="The missing-person report's ref.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Why a remains record and a report score as they do: every factor's weight and the
    pair's one figure."""
    import dataclasses
    import json

    from opendvi.matching import explain as explain_pair

    with opened() as dvi:
        found = explain_pair(dvi, pm_ref, am_ref)
    if not as_json:
        _print(found)
        return
    data = dataclasses.asdict(found)
    data["verdict"] = found.verdict()
    data["odds"] = found.odds.as_json()
    typer.echo(json.dumps(data, indent=2, default=str))


def register(app: typer.Typer) -> None:
    app.command()(match)
    app.command()(explain)
