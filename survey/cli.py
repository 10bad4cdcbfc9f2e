"""The ``negoscope`` command line: Flask's CLI bound to the app factory.

Commands are thin: they parse options, call services, commit once, print.
"""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from analytics.instrument_parser import InstrumentError, load_instrument
from survey.extensions import db
from survey.dbtypes import utcnow
from survey.services import demo as demo_service
from survey.services.instruments import InstrumentConflict, list_instruments, store_instrument


def main() -> None:
    """Entry point of the ``negoscope`` console script."""
    from survey import create_app

    cli = FlaskGroup(create_app=create_app, help="Negoscope: team negotiation profiles.")
    cli.main(prog_name="negoscope")


def register_commands(app: Flask) -> None:
    """Attach the project's commands to the app's CLI."""
    app.cli.add_command(instrument_group)
    app.cli.add_command(demo_command)


@click.group("instrument")
def instrument_group() -> None:
    """Validate, store and list questionnaire instruments."""


@instrument_group.command("validate")
@click.argument("path", type=click.Path(dir_okay=False))
def instrument_validate(path: str) -> None:
    """Check an instrument YAML file and report every problem."""
    try:
        instrument = load_instrument(path)
    except InstrumentError as error:
        _fail_instrument(error)
    click.echo(
        f"{path}: OK: {instrument.id} v{instrument.version}, {len(instrument.dimensions)} "
        f"dimensions, {len(instrument.items)} items, {len(instrument.context)} context questions"
    )


@instrument_group.command("load")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def instrument_load(path: str) -> None:
    """Store an instrument version (refused if the same version differs)."""
    try:
        instrument = load_instrument(path)
        row, created = store_instrument(instrument)
    except InstrumentError as error:
        _fail_instrument(error)
    except InstrumentConflict as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    verb = "stored" if created else "already stored (identical content)"
    click.echo(f"{row.label}: {verb}")


@instrument_group.command("list")
@with_appcontext
def instrument_list() -> None:
    """List stored instrument versions."""
    rows = list_instruments()
    if not rows:
        click.echo("No instruments stored yet. Load one with: negoscope instrument load FILE")
    for row in rows:
        click.echo(f"{row.key}\tv{row.version}\t{row.content_hash[:12]}\t{row.title}")


@click.command("demo")
@click.option("--reset", is_flag=True, help="Delete the demo organization first.")
@click.option(
    "--if-empty",
    is_flag=True,
    help="Only load when the database holds no data; otherwise print fresh demo links.",
)
@with_appcontext
def demo_command(reset: bool, if_empty: bool) -> None:
    """Load a demo organization with an open round and simulated answers."""
    now = utcnow()
    ttl = timedelta(days=current_app.config["INVITATION_TTL_DAYS"])
    if if_empty and demo_service.any_data():
        links = demo_service.reissue_demo_links(now, 3, ttl)
        db.session.commit()
        click.echo("The database already holds data; the demo was not loaded again.")
        _print_links(links)
        return
    if demo_service.demo_exists():
        if not reset:
            raise click.ClickException(
                "The demo organization already exists. Run `negoscope demo --reset` to rebuild it."
            )
        demo_service.remove_demo()
    result = demo_service.create_demo(now, invitation_ttl=ttl)
    db.session.commit()
    click.echo(
        f"Demo loaded: {result.organization}, round {result.round_name!r}: {result.teams} teams, "
        f"{result.participants} members, {result.submitted} submitted responses."
    )
    _print_links(result.links[:6])
    if len(result.links) > 6:
        click.echo(f"  ... and {len(result.links) - 6} more unanswered invitations.")


def _print_links(links: list[tuple[str, str, str]]) -> None:
    if not links:
        return
    base = current_app.config["PUBLIC_BASE_URL"]
    click.echo("Invitation links (each is personal; opening one starts that member's survey):")
    for person, team, token in links:
        click.echo(f"  {person} ({team}): {base}/s/{token}")


def _fail_instrument(error: InstrumentError) -> None:
    for problem in error.problems:
        click.echo(str(problem), err=True)
    sys.exit(1)
