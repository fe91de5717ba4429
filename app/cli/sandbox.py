"""`milestones sandbox ...`: the local sales history and sandbox CRM."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.cli.output import console, emit_json, fail
from sandbox.history import (
    SCENARIOS,
    SIZES,
    GeneratorError,
    GeneratorParams,
    build_params,
)

app = typer.Typer(
    help="Generate a sales history and run the local sandbox CRM.", no_args_is_help=True
)

_PARALLEL_FROM = 5_000


@app.command("generate")
def generate_command(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the export to.")],
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same bytes.")] = 1,
    size: Annotated[
        str, typer.Option(help=f"One of {', '.join(f'{k} ({v:,})' for k, v in SIZES.items())}.")
    ] = "small",
    opportunities: Annotated[
        int | None, typer.Option(help="Opportunities up to now (overrides --size).")
    ] = None,
    now: Annotated[
        str | None, typer.Option(help="The export's 'now', ISO-8601 with zone [2025-07-01].")
    ] = None,
    future_days: Annotated[int, typer.Option(help="Days of future record versions after now.")] = 0,
    scenario: Annotated[
        str,
        typer.Option(
            help="Market change in the middle of the history: "
            f"{', '.join(SCENARIOS)} (docs/sales-history.md)."
        ),
    ] = "steady",
    security_review: Annotated[
        bool,
        typer.Option(
            "--security-review",
            help="Customers send a security questionnaire after the meeting, mostly in deals "
            "they sign: a predictive action the example rules do not map.",
        ),
    ] = False,
    forms: Annotated[
        bool,
        typer.Option(
            "--forms",
            help="Contacts fill in website forms (HubSpot form submissions); a pricing "
            "inquiry after the meeting mostly in deals they sign.",
        ),
    ] = False,
    force: Annotated[bool, typer.Option(help="Replace an existing export in --out.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Generate a deterministic B2B sales history as Salesforce and HubSpot export files."""
    moment: datetime | None = None
    if now is not None:
        text = now.strip() + ("T00:00:00Z" if len(now.strip()) == 10 else "")
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            fail(f"--now {now!r} is not an ISO-8601 timestamp", code=2)
    try:
        params = build_params(
            seed=seed,
            size=size,
            opportunities=opportunities,
            now=moment,
            future_days=future_days,
            scenario=scenario,
            security_review=security_review,
            forms=forms,
        )
        workers = 2 if params.opportunities >= _PARALLEL_FROM and (os.cpu_count() or 1) > 1 else 1
        if as_json:
            from sandbox.history import generate

            summary = generate(params, out, force=force, workers=workers)
        else:
            summary = _with_progress(params, out, force, workers)
    except GeneratorError as error:
        fail(str(error), code=2)
    if as_json:
        emit_json(summary)
    else:
        _print_summary(summary, out)


def _with_progress(params: GeneratorParams, out: Path, force: bool, workers: int) -> dict[str, Any]:
    columns = (
        TextColumn("[bold]generating deals"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("deals", total=params.opportunities)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        from sandbox.history import generate

        return generate(params, out, force=force, workers=workers, progress=advance)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _print_summary(summary: dict[str, Any], out: Path) -> None:
    counts = summary["counts"]
    console.print(
        f"[bold]Sales history[/] seed {summary['seed']}, {summary['opportunities']:,} "
        f"opportunities, now {summary['now']}, future until {summary['future_until']} -> {out}"
    )
    market = summary["scenario"]
    if market["scenario"] != "steady":
        console.print(f"Market change on {market['changes_at']}: {market['description']}")
    table = Table("CRM", "object", "rows at now", "future versions", title="Records")
    for crm in ("salesforce", "hubspot"):
        for name, rows in counts[crm].items():
            future = counts["future"][crm].get(name, 0)
            table.add_row(crm, name, f"{rows:,}", f"{future:,}")
    console.print(table)
    for process in summary["processes"].values():
        steps = Table(
            "step",
            "kind",
            "reached",
            "conversion",
            "(set)",
            "median gap, business days",
            "(set)",
            title=(
                f"{process['name']}: {process['deals']:,} deals, win rate "
                f"{_percent(process['win_rate'])} "
                f"(configured {_percent(process['configured_win_rate'])})"
            ),
        )
        for step in process["steps"]:
            gap = step["median_gap_business_days"]
            steps.add_row(
                step["name"],
                step["kind"],
                f"{step['reached']:,}",
                _percent(step["conversion"]),
                _percent(step["configured_probability"]),
                "-" if gap is None else f"{gap:.1f}",
                f"{step['configured_median_gap_business_days']:.1f}",
            )
        console.print(steps)
    segments = Table("segment", "deals", "won", "lost", "open", "win rate", title="Segments")
    for name, segment in summary["segments"].items():
        segments.add_row(
            name,
            f"{segment['deals']:,}",
            f"{segment['won']:,}",
            f"{segment['lost']:,}",
            f"{segment['open']:,}",
            _percent(segment["win_rate"]),
        )
    console.print(segments)


@app.command("up")
def up_command(
    seed: Annotated[int, typer.Option(help="Seed of the generated history.")] = 1,
    size: Annotated[str, typer.Option(help=f"One of {', '.join(SIZES)}.")] = "small",
    from_dir: Annotated[
        Path | None, typer.Option("--from", help="Serve this export folder instead.")
    ] = None,
    faults: Annotated[
        list[str] | None,
        typer.Option("--faults", help="kind[:key=value,...], e.g. rate_limit:api=hubspot,every=5"),
    ] = None,
    port: Annotated[
        int,
        typer.Option(help="Salesforce (HTTPS) port, 0 a free one; HubSpot gets the next port."),
    ] = 0,
    speed: Annotated[
        float, typer.Option(help="Sandbox seconds per real second (0 freezes).")
    ] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Run the sandbox CRM on loopback until Ctrl-C or SIGTERM; print what a connection needs.

    Its generated histories and TLS files live in `<MILESTONES_DATA_DIR>/sandbox`."""
    from app.cli.context import settings
    from sandbox.crm.runner import RunOptions, SandboxRunError, start_sandbox

    options = RunOptions(
        seed=seed,
        size=size,
        from_dir=from_dir,
        faults=faults or [],
        port=port,
        speed=speed,
        cache_dir=settings().data_dir / "sandbox",
    )
    try:
        server = start_sandbox(options)
    except SandboxRunError as error:
        fail(str(error), code=2)
    server.catch_stop_signals()
    info = server.connection_info()
    if as_json:
        emit_json(info)
        sys.stdout.flush()
    else:
        sf, hs = info["salesforce"], info["hubspot"]
        console.print(f"[bold]Salesforce[/] {sf['instance_url']}  token URL {sf['token_url']}")
        console.print(f"  client id {sf['client_id']}  secret {sf['client_secret']}")
        console.print(f"  CA file {sf['ca_file']}")
        console.print(f"[bold]HubSpot[/] {hs['base_url']}  access token {hs['access_token']}")
        console.print("Ctrl-C stops the sandbox.")
    received = server.wait()
    typer.echo(f"Sandbox stopped ({received or 'servers ended'}).", err=True)
