"""``negoscope export`` and ``negoscope erase-participant``.

Register with ``app.cli.add_command(export_command)`` and
``app.cli.add_command(erase_participant_command)``.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from survey.cli import resolve_round_or_exit
from survey.extensions import db
from survey.services.export_writers import FORMATS


@click.command("export")
@click.option("--round", "round_name", required=True)
@click.option("--org", "org_name", help="Organization (needed when several have the round).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--k",
    type=int,
    default=None,
    help="Smallest group of identical team/context/week values (default and minimum: the"
    " anonymity threshold, 5).",
)
@click.option("--stable-ids", is_flag=True, hidden=True)
@with_appcontext
def export_command(
    round_name: str, org_name: str | None, fmt: str, out: Path, k: int | None, stable_ids: bool
) -> None:
    """Export a round's released answers, anonymized, with a codebook and a manifest.

    Only responses behind published team results are exported. Exporting the
    same release snapshot again gives the same data; an export that would
    differ from an earlier one by fewer responses than the anonymity
    threshold is refused. CSV comes as a zip (data, codebook, manifest); XLSX
    as one workbook; Parquet as the file plus OUT-stem.codebook.json and
    OUT-stem.manifest.json.
    """
    from survey.database import begin_write
    from survey.services.export import (
        ExportError,
        ExportRefused,
        export_round,
        record_export,
        stable_export_key,
    )

    if stable_ids:
        raise click.UsageError(
            "--stable-ids is no longer available: response pseudonyms that stay the same"
            " across exports let rows of two exports be joined. Team pseudonyms are always"
            " stable; exporting the same release snapshot again gives the same pseudonyms."
        )
    threshold = int(current_app.config["ANONYMITY_THRESHOLD"])
    k = threshold if k is None else k
    if k < threshold:
        raise click.BadParameter(
            f"k must be at least the anonymity threshold ({threshold})", param_hint="--k"
        )
    survey_round = resolve_round_or_exit(round_name, org_name)
    round_id = survey_round.id
    if survey_round.organization.export_key is None:
        begin_write()  # the export key, once per organization, in a short write transaction
        survey_round = _reload(round_id)
        try:
            stable_export_key(survey_round.organization)
        except NotImplementedError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from error
    db.session.commit()  # the export reads in a transaction of its own
    survey_round = _reload(round_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    click.echo(f"Exporting {survey_round.organization.name} / {survey_round.name} ...")
    try:
        result = export_round(
            survey_round, out, fmt=fmt, k=k, progress=lambda message: click.echo(f"  {message} ...")
        )
    except ExportError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.rollback()
    begin_write()
    try:
        record_export(_reload(round_id), result, actor_label="cli")
    except ExportRefused as error:  # another export was recorded meanwhile
        db.session.rollback()
        for path in result.files:
            path.unlink(missing_ok=True)
        raise click.ClickException(str(error)) from error
    db.session.commit()
    report = result.report
    click.echo(
        f"Exported {result.rows} of {report.rows_in} released responses ({report.teams_out} of"
        f" {report.teams_in} teams) of snapshot {result.snapshot_id}, k={k}, smallest group"
        f" {report.k_reached}."
    )
    for suppression in report.suppressed:
        click.echo(
            f"  Left out: {suppression.teams} team(s), {suppression.rows} responses"
            f" ({suppression.reason})."
        )
    for recoding in report.recodings:
        merged = [" + ".join(g) for g in recoding.groups if len(g) > 1]
        if merged or recoding.cells_blanked:
            click.echo(
                f"  {recoding.name}: merged {'; '.join(merged) or 'nothing'},"
                f" {recoding.cells_blanked} cells blanked."
            )
    if report.diversity_classes_generalized or report.diversity_cells_blanked:
        click.echo(
            f"  l-diversity (l={report.diversity}): {report.diversity_classes_generalized}"
            f" groups generalized further, {report.diversity_cells_blanked} answers withheld."
        )
    if report.profile_withheld_rows:
        click.echo(
            f"  Profile withheld for {report.profile_withheld_rows} rows"
            f" ({report.profile_withheld_groups} groups showing one profile only)."
        )
    click.echo("Wrote " + ", ".join(str(path) for path in result.files) + ".")


@click.command("erase-participant")
@click.argument("email")
@click.option("--org", "org_name", required=True, help="The person's organization.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def erase_participant_command(email: str, org_name: str, yes: bool) -> None:
    """Erase a member: name and email, and their answers in confidential rounds."""
    from survey.database import begin_write
    from survey.dbtypes import utcnow
    from survey.services import erasure
    from survey.services.organizations import find_organization

    org = find_organization(org_name)
    if org is None:
        raise click.ClickException(f"No organization called {org_name!r}.")
    people = erasure.find_participants(org, email)
    if not people:
        raise click.ClickException(f"No member with that email in {org_name!r}.")
    plan = erasure.erasure_plan(people)
    click.echo(plan.describe())
    if not yes:
        click.confirm("Erase now? This cannot be undone", abort=True)
    ids = [p.id for p in people]
    db.session.rollback()
    begin_write()
    people = erasure.participants_by_id(org, ids)
    result = erasure.erase_participants(people, utcnow())
    erasure.record_erasure(org, result, actor_label="cli")
    db.session.commit()
    click.echo(result.describe())


def _reload(round_id: int):  # type: ignore[no-untyped-def]
    from survey.models import SurveyRound

    survey_round = db.session.get(SurveyRound, round_id)
    assert survey_round is not None
    return survey_round
