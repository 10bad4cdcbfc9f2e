"""The ``negoscope`` command line: Flask's CLI bound to the app factory.

Commands are thin: they parse options, call services, commit once, print.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from analytics.instrument_parser import InstrumentError, load_instrument
from analytics.language import LANGUAGES
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.services.instruments import InstrumentConflict, list_instruments, store_instrument


def main() -> None:
    """Entry point of the ``negoscope`` console script."""
    import gc

    # Loading the app creates ~250,000 objects that live until exit; the garbage
    # collector's passes over them meanwhile cost ~0.3 s of start-up and free nothing.
    gc.disable()
    from survey import create_app

    def load_app() -> Flask:
        try:
            return create_app()
        finally:
            gc.freeze()  # and keep later passes (and the one at exit) off them
            gc.enable()

    cli = FlaskGroup(create_app=load_app, help="Negoscope: team negotiation profiles.")
    cli.main(prog_name="negoscope")


def register_commands(app: Flask) -> None:
    """Attach the project's commands to the app's CLI."""
    app.cli.add_command(instrument_group)
    app.cli.add_command(demo_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(rounds_command)
    app.cli.add_command(serve_command)
    app.cli.add_command(import_responses_command)
    app.cli.add_command(analyze_command)
    app.cli.add_command(report_command)
    from survey.cli_export import erase_participant_command, export_command

    app.cli.add_command(export_command)
    app.cli.add_command(erase_participant_command)
    app.cli.add_command(backup_command)
    from survey.jobs.cli import job_command, worker_command

    app.cli.add_command(worker_command)
    app.cli.add_command(job_command)


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
    complete = [lang for lang in instrument.languages if lang != instrument.language]
    if complete:
        click.echo(f"  complete translations: {', '.join(complete)}")
    for lang in instrument.declared_languages:
        if lang not in instrument.languages:
            missing = instrument.untranslated(lang)
            click.echo(
                f"  translation {lang!r} is partial and not offered to respondents: "
                f"{len(missing)} missing: {', '.join(missing[:10])}"
                + (" ..." if len(missing) > 10 else "")
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
    from survey.services import demo as demo_service

    now = utcnow()
    ttl = timedelta(days=current_app.config["INVITATION_TTL_DAYS"])
    if if_empty and demo_service.any_data():
        links = demo_service.reissue_demo_links(now, 3, ttl)
        logins = demo_service.reset_demo_logins()
        db.session.commit()
        click.echo("The database already holds data; the demo was not loaded again.")
        _print_logins(logins)
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
    _print_logins(result.logins)
    _print_links(result.links[:6])
    if len(result.links) > 6:
        click.echo(f"  ... and {len(result.links) - 6} more unanswered invitations.")


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "coach"]), required=True)
@click.option("--org", "org_name", required=True, help="Organization name (created if new).")
@click.option("--team", "team_names", multiple=True, help="Team the coach sees (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_user_command(
    email: str, role: str, org_name: str, team_names: tuple[str, ...], password_stdin: bool
) -> None:
    """Create an account (or give an existing one a role) in an organization."""
    from survey.services import accounts, audit, organizations
    from survey.services.passwords import password_problem

    user = accounts.find_user(email)
    if user is None:
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        if problem := password_problem(password, email=email):
            raise click.ClickException(f"Password refused: {problem}")
        if "@" not in email or len(email) > 320:
            raise click.ClickException(f"{email!r} is not an email address.")
    org, org_created = organizations.get_or_create_organization(org_name)
    if org_created:
        click.echo(f"Created organization {org_name!r}.")
    missing = [n for n in team_names if organizations.find_team(org, n) is None]
    if missing:
        db.session.rollback()
        raise click.ClickException(
            f"Unknown team(s) in {org_name!r}: {', '.join(missing)}. Create them first."
        )
    if user is None:
        user = accounts.create_user(email, password)
        audit.record("user_created", actor_label="cli", organization_id=org.id, target=user.email)
        click.echo(f"Created user {user.email}.")
    _, old_role = accounts.set_role(user, org, role)
    if old_role != role:
        audit.record(
            "role_changed",
            actor_label="cli",
            organization_id=org.id,
            target=user.email,
            detail=f"{old_role or 'none'} -> {role}",
        )
    for name in team_names:
        team = organizations.find_team(org, name)
        if team is not None:
            accounts.assign_coach(user, team, actor_label="cli")
    db.session.commit()
    teams = f", teams: {', '.join(team_names)}" if team_names else ""
    click.echo(f"{user.email} is {role} of {org_name!r}{teams}.")


@click.command("rounds")
@click.option("--org", "org_name", help="Only this organization.")
@with_appcontext
def rounds_command(org_name: str | None) -> None:
    """One line per round: organization, round, instrument, status, invited, submitted."""
    from sqlalchemy import select

    from survey.models import Organization, SurveyRound
    from survey.services import rounds
    from survey.services.organizations import find_organization

    query = select(SurveyRound).join(Organization).order_by(Organization.name, SurveyRound.name)
    if org_name:
        query = query.where(Organization.name == org_name)
    found = db.session.scalars(query).all()
    if org_name and not found and find_organization(org_name) is None:
        raise click.ClickException(f"No organization called {org_name!r}.")
    for survey_round in found:
        counts = rounds.round_counts(survey_round)
        click.echo(
            f"{survey_round.organization.name}\t{survey_round.name}\t"
            f"{survey_round.instrument.label}\t{survey_round.status}\t"
            f"invited {counts.invited}\tsubmitted {counts.submitted}"
        )


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=4, show_default=True, type=int)
@click.option(
    "--threads",
    default=8,
    show_default=True,
    type=int,
    help="Threads per worker: a client that sends its request slowly holds one thread.",
)
@click.option(
    "--plain-http",
    is_flag=True,
    help="Cookies without the Secure flag, for trying production mode without HTTPS.",
)
def serve_command(host: str, port: int, workers: int, threads: int, plain_http: bool) -> None:
    """Run the production server (gunicorn, threaded workers)."""
    import os

    env = dict(os.environ, NEGOSCOPE_ENV="production")
    if plain_http:
        env["NEGOSCOPE_SECURE_COOKIES"] = "false"
    args = [sys.executable, "-m", "gunicorn", *gunicorn_arguments(host, port, workers, threads)]
    click.echo(
        f"Serving on http://{host}:{port} with {workers} workers x {threads} threads (gunicorn)."
    )
    os.execvpe(sys.executable, args, env)


def gunicorn_arguments(host: str, port: int, workers: int, threads: int) -> list[str]:
    """gunicorn's command-line arguments for ``negoscope serve``.

    Threaded workers (``gthread``): a client that sends its request slowly
    (slowloris) ties up one thread, not a whole worker, so a handful of them
    cannot stall the server. In production a buffering proxy in front (see
    ``deploy/nginx.conf``) passes on only complete requests. No access log: the
    first request of a respondent carries their token.
    """
    return [
        "survey.wsgi:app",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--timeout",
        "120",
    ]


@click.command("backup")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(out: Path) -> None:
    """Copy the embedded SQLite database to OUT while the app keeps serving."""
    from survey.services.backup import BackupError, backup_sqlite

    with click.progressbar(length=100, label="Backing up") as bar:
        done = [0]

        def progress(copied: int, total: int) -> None:
            step = int(copied * 100 / max(total, 1))
            bar.update(step - done[0])
            done[0] = step

        try:
            pages = backup_sqlite(current_app.config["SQLALCHEMY_DATABASE_URI"], out, progress)
        except BackupError as error:
            raise click.ClickException(str(error)) from error
    click.echo(f"Backup written to {out} ({pages} pages, integrity check ok).")


@click.command("import-responses")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--instrument", "instrument_spec", required=True, help="ID or ID:VERSION")
@click.option("--round", "round_name", required=True)
@click.option("--org", "org_name", default="Imported", show_default=True)
@with_appcontext
def import_responses_command(
    path: str, instrument_spec: str, round_name: str, org_name: str
) -> None:
    """Import a wide CSV of responses as submitted answers (all rows or none)."""
    from analytics.response_csv import ResponseCsvError, read_responses_csv
    from survey.services.instruments import instrument_of
    from survey.services.response_import import ImportConflict, import_frame

    instrument_row = _resolve_instrument(instrument_spec)
    instrument = instrument_of(instrument_row)
    click.echo(f"Reading {path} ...")
    try:
        frame = read_responses_csv(path, instrument)
    except ResponseCsvError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(f"{path}: nothing was imported.") from error
    with click.progressbar(length=len(frame), label="Storing responses") as bar:
        try:
            report = import_frame(
                org_name, round_name, instrument_row, instrument, frame, utcnow(), bar.update
            )
        except ImportConflict as error:
            db.session.rollback()
            raise click.ClickException(f"{error} Nothing was imported.") from error
    db.session.commit()
    if report.organization_created:
        click.echo(f"Created organization {org_name!r}.")
    if report.round_created:
        click.echo(f"Created round {round_name!r} ({instrument_row.label}, closed).")
    if report.teams_created:
        shown = ", ".join(report.teams_created[:10])
        more = (
            f" and {len(report.teams_created) - 10} more" if len(report.teams_created) > 10 else ""
        )
        click.echo(f"Created {len(report.teams_created)} teams: {shown}{more}.")
    click.echo(f"Imported {report.stored} responses into {round_name!r}.")


def _resolve_instrument(spec: str):  # type: ignore[no-untyped-def]
    from analytics.instrument_parser import default_instrument_paths
    from survey.services.instruments import find_instrument

    key, _, version_text = spec.partition(":")
    if version_text and not version_text.isdigit():
        raise click.BadParameter(f"{spec!r}: use ID or ID:VERSION", param_hint="--instrument")
    version = int(version_text) if version_text else None
    row = find_instrument(key, version)
    if row is not None:
        return row
    for path in default_instrument_paths():
        shipped = load_instrument(path)
        if shipped.id == key and version in (None, shipped.version):
            row, _ = store_instrument(shipped)
            click.echo(f"Stored the shipped instrument {row.label}.")
            return row
    raise click.ClickException(
        f"Instrument {spec} is not stored. Load it first: negoscope instrument load FILE"
    )


@click.command("analyze")
@click.option("--round", "round_name", required=True)
@click.option("--org", "org_name", help="Organization (needed when several have the round).")
@click.option("--json", "json_out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--assignments",
    type=click.Path(dir_okay=False, path_type=Path),
    help="respondent,team,profile CSV",
)
@click.option("--seed", default=0, show_default=True, type=int)
@with_appcontext
def analyze_command(
    round_name: str, org_name: str | None, json_out: Path, assignments: Path | None, seed: int
) -> None:
    """Score, check reliability, find profiles and diagnose every team of a round.

    Works on the round's released results (the same snapshot the dashboards
    show); figures in the JSON are coarsened as on every other output.
    """
    import json

    from analytics.coarsen import published_json
    from analytics.pipeline import analyze_round
    from survey.database import begin_write
    from survey.services import ledger, releases, team_reports
    from survey.services.datasets import invited_by_team, round_frame
    from survey.services.instruments import instrument_of

    survey_round = resolve_round_or_exit(round_name, org_name)
    threshold = current_app.config["ANONYMITY_THRESHOLD"]
    snapshot = releases.current_snapshot(survey_round)
    if snapshot.id == 0:
        raise click.ClickException(
            f"Round {round_name!r} has no released results yet: a team's results are released"
            f" once {threshold} of its members have answered."
        )
    click.echo(f"Loading {survey_round.organization.name} / {survey_round.name} ...")
    if seed == 0:  # the very analysis the dashboards and reports show
        analysis = team_reports.round_analysis(survey_round, threshold, snapshot.id)
    else:
        instrument = instrument_of(survey_round.instrument)
        conditions = releases.snapshot_conditions(survey_round, snapshot)
        analysis = analyze_round(
            round_frame(survey_round, instrument, conditions),
            instrument,
            round_name=survey_round.name,
            threshold=threshold,
            invited=invited_by_team(survey_round) or None,
            random_state=seed,
            progress=lambda message: click.echo(f"  {message} ..."),
        )
    payload = published_json(analysis.to_json_dict())
    text = json.dumps(payload, indent=2, allow_nan=False)
    json_out.parent.mkdir(parents=True, exist_ok=True)
    json_out.write_text(text, encoding="utf-8")
    n = int(payload["n_respondents"])
    shown = [ledger.Shown("analyze", survey_round, snapshot.id, "round", n, text)]
    click.echo(f"Wrote {json_out}.")
    if assignments is not None:
        table = analysis.assignments_frame().to_csv(index=False)
        assignments.write_text(table, encoding="utf-8")
        shown.append(ledger.Shown("assignments", survey_round, snapshot.id, "round", n, table))
        click.echo(f"Wrote {assignments} (analyst output: keep it on your own machine).")
    begin_write()
    for entry in shown:
        ledger.record(entry, actor=_cli_actor())
    db.session.commit()
    profiles = payload.get("profiles") or {}
    found = (
        "no profile structure"
        if profiles.get("outcome") == "no profile structure"
        else f"{profiles.get('k', 0)} profiles"
    )
    click.echo(
        f"{payload['n_respondents']} respondents in release #{snapshot.id},"
        f" {len(payload['teams'])} teams, {found}."
    )


def _cli_actor() -> str:
    """Who ran a command, for the anonymity ledger."""
    import getpass

    try:
        return f"command line ({getpass.getuser()})"
    except Exception:  # no user name in this environment
        return "command line"


@click.command("report")
@click.option("--round", "round_name", required=True)
@click.option("--org", "org_name", help="Organization (needed when several have the round).")
@click.option("--team", "team_name", help="One team's report.")
@click.option("--all", "all_teams", is_flag=True, help="Every team that meets the threshold.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="PDF file (--team).")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), help="Folder (--all).")
@click.option("--jobs", type=int, default=0, help="Parallel renderers (default: every core).")
@click.option(
    "--background", is_flag=True, help="With --all: queue it for the worker and return at once."
)
@click.option(
    "--language",
    type=click.Choice(LANGUAGES),
    default="en",
    show_default=True,
    help="The language of the report.",
)
@with_appcontext
def report_command(
    round_name: str,
    org_name: str | None,
    team_name: str | None,
    all_teams: bool,
    out: Path | None,
    out_dir: Path | None,
    jobs: int,
    background: bool,
    language: str,
) -> None:
    """Write the PDF team report of one team, or of every eligible team in parallel."""
    from datetime import date

    from survey.services import organizations, releases, report_batch, team_reports

    if bool(team_name) == all_teams:
        raise click.UsageError("Give either --team NAME or --all.")
    if team_name and out is None:
        raise click.UsageError("--team needs --out FILE.pdf")
    if all_teams and out_dir is None:
        raise click.UsageError("--all needs --out-dir DIR")
    survey_round = resolve_round_or_exit(round_name, org_name)
    threshold = current_app.config["ANONYMITY_THRESHOLD"]
    click.echo(f"Analysing {survey_round.organization.name} / {survey_round.name} ...")
    if team_name:
        team = organizations.find_team(survey_round.organization, team_name)
        if team is None or team not in survey_round.teams:
            raise click.ClickException(f"Team {team_name!r} is not in round {round_name!r}.")
        try:
            view = team_reports.team_view(survey_round, team, threshold, date.today(), language)
        except team_reports.TeamSuppressed as suppressed:
            raise click.ClickException(
                f"No report for {team_name}: {releases.unreleased_reason(survey_round, team)}"
            ) from suppressed
        assert out is not None
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(team_reports.team_pdf(view.context))
        _record_reports(survey_round, view.snapshot_id, [view.context])
        click.echo(f"Wrote {out}.")
        return
    assert out_dir is not None
    if background:
        from survey.jobs import enqueue, tasks

        job_id = enqueue(
            tasks.render_reports,
            survey_round.id,
            str(out_dir.resolve()),
            _cli_actor(),
            jobs or None,
            language,
            organization_id=survey_round.organization_id,
            round_id=survey_round.id,
        )
        click.echo(f"Queued job {job_id}: `negoscope job {job_id}` shows how it is getting on.")
        return
    contexts, skipped = report_batch.contexts_for_round(
        survey_round, threshold, date.today(), language
    )
    with click.progressbar(length=len(contexts), label=f"Rendering {len(contexts)} reports") as bar:
        written = report_batch.render_all(contexts, out_dir, jobs or None, bar.update)
    _record_reports(survey_round, team_reports.fingerprint(survey_round), contexts)
    click.echo(f"Wrote {len(written)} reports to {out_dir}.")
    if skipped:
        click.echo(f"Skipped {len(skipped)} teams:")
        for name, reason in skipped:
            click.echo(f"  {name}: {reason}")


def _record_reports(survey_round, snapshot_id: int, contexts) -> None:  # type: ignore[no-untyped-def]
    """Record the reports written in the anonymity ledger."""
    from survey.services import report_batch

    report_batch.record_reports(survey_round, snapshot_id, contexts, _cli_actor())
    db.session.commit()


def resolve_round_or_exit(round_name: str, org_name: str | None):  # type: ignore[no-untyped-def]
    """The named round, or a command-line error that says what is missing."""
    from survey.services.rounds import RoundNotFound, resolve_round

    try:
        found = resolve_round(round_name, org_name)
    except RoundNotFound as error:
        raise click.ClickException(str(error)) from error
    if found.counterparty_id is not None:  # analyze, report, export: no team profile (#16)
        raise click.ClickException(
            f"Round {round_name!r} rates a counterparty: its results are shown on the coach's gap"
            " view and in the team report of the team's own round."
        )
    return found


def _print_logins(logins: list[tuple[str, str, str]]) -> None:
    if not logins:
        return
    click.echo(f"Demo logins at {current_app.config['PUBLIC_BASE_URL']}/login (new passwords):")
    for role, email, password in logins:
        click.echo(f"  {role:<6} {email}  password: {password}")


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
