"""The `milestones` command: one root with a sub-command group per concern."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from app.cli import backtest as backtest_command
from app.cli import connections, db, keys, mappings, targets
from app.cli import forecast as forecast_command
from app.cli import health as health_command
from app.cli import sync as sync_command
from app.cli import worker as worker_command
from app.cli import writeback as writeback_command
from app.cli.context import open_database, settings
from app.cli.extras import SANDBOX_MISSING, sandbox_installed
from app.cli.output import console, emit_json, error_line, errors_as_json, fail, wants_json
from app.core.crypto import generate_key, load_keys
from app.core.errors import ConfigurationError, MilestonesError

app = typer.Typer(
    name="milestones",
    help="Milestone Sync: customer-action milestones, KPIs and forecasts from your CRM.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(connections.app, name="connections")
app.command("sync")(sync_command.sync)
app.command("worker")(worker_command.worker)
app.command("status")(worker_command.status)
app.command("trigger-token")(worker_command.trigger_token)
if sandbox_installed():
    from app.cli import sandbox

    app.add_typer(sandbox.app, name="sandbox")
else:

    @app.command(
        "sandbox", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
    )
    def sandbox_missing() -> None:
        """The local sales history and sandbox CRM (the `sandbox` install extra)."""
        fail(SANDBOX_MISSING, code=2)


app.add_typer(mappings.app, name="mappings")
app.add_typer(keys.app, name="keys")
app.add_typer(targets.app, name="targets")
app.command("backtest")(backtest_command.backtest)
app.command("forecast")(forecast_command.forecast)
app.command("health")(health_command.health)
app.command("writeback")(writeback_command.writeback)
app.add_typer(writeback_command.crm, name="crm")


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address [MILESTONES_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [MILESTONES_PORT].")] = None,
) -> None:
    """Run the REST API. An embedded SQLite database is migrated on start."""

    from app.api.main import create_app

    config = settings()
    load_keys(config)  # fail now, not at the first credential, if the key is unusable
    database = open_database(writes=True)  # migrates an embedded database on first use
    from app.cli.serving import serve_until_stopped

    serve_until_stopped(create_app(config, database), host or config.host, port or config.port)


@app.command("demo")
def demo(
    port: Annotated[int, typer.Option(help="Port for the API.")] = 8000,
    check: Annotated[
        bool, typer.Option("--check", help="Run through once, verify, and exit (for scripts).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """The end-to-end demo: start everything and show it working."""
    if not sandbox_installed():
        fail(SANDBOX_MISSING, code=2)
    from app.cli.demo import run_demo

    run_demo(settings(), port=port, keep_running=not check, as_json=as_json)


@app.command("secret-key")
def secret_key(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Print a new key for MILESTONES_SECRET_KEY."""
    key = generate_key()
    if as_json:
        emit_json({"secret_key": key})
    else:
        console.print(key)


def _run_for_scripts() -> None:
    """Under `--json`, usage errors too become one JSON object (click would print text)."""
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:  # usage errors
        error_line(exc.format_message(), exc.exit_code)
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        error_line("aborted")
        raise SystemExit(1) from None
    if isinstance(code, int) and code:
        raise SystemExit(code)


def main() -> None:
    """Entry point: domain and database errors become one line and a non-zero exit."""
    scripted = wants_json(sys.argv[1:])
    errors_as_json(scripted)
    try:
        _run_for_scripts() if scripted else app()
    except ConfigurationError as exc:
        error_line(exc.detail, 2)
        raise SystemExit(2) from None
    except MilestonesError as exc:
        error_line(exc.detail)
        raise SystemExit(1) from None
    except SQLAlchemyError as exc:
        error_line(f"database error: {str(exc).splitlines()[0]} — check DATABASE_URL")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
