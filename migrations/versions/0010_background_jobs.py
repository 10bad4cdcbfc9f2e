"""background jobs

The ``jobs`` table (survey.models.job: what a page shows of a job on the
queue) and ``survey_rounds.scheduled_reminder_at`` (the automatic reminder
before closing is queued once).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 06:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# As in survey/models/job.py when this revision was written (migrations never import the app).
KINDS = ("invitations", "reminders", "scheduled_reminders", "reports", "export", "webhook")
STATUSES = ("queued", "running", "done", "failed")


def _one_of(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(_one_of("kind", KINDS), name=op.f("ck_jobs_kind")),
        sa.CheckConstraint(_one_of("status", STATUSES), name=op.f("ck_jobs_status")),
        sa.CheckConstraint(
            "progress_done >= 0 AND (progress_total IS NULL OR progress_total >= 0)",
            name=op.f("ck_jobs_progress"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_jobs_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_jobs_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["survey_rounds.id"],
            name=op.f("fk_jobs_round_id_survey_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_jobs_organization_id_created_at", ["organization_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_jobs_round_id"), ["round_id"], unique=False)
    # In place, never a batch rebuild: on SQLite, dropping survey_rounds to copy it would
    # cascade-delete every round's answers.
    op.add_column("survey_rounds", sa.Column("scheduled_reminder_at", sa.DateTime(), nullable=True))


def downgrade():
    op.drop_column("survey_rounds", "scheduled_reminder_at")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_round_id"))
        batch_op.drop_index("ix_jobs_organization_id_created_at")
    op.drop_table("jobs")
