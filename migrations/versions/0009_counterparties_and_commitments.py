"""counterparties and commitments

Counterparties (the other sides an organization's teams negotiate with), the
counterparty a round rates (``survey_rounds.counterparty_id``; no ON DELETE
action, so a counterparty with rounds cannot be deleted while deleting an
organization still cascades to both), and the commitments a team records after
a round.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 06:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "counterparties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("deal_name", sa.String(length=200), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('customer', 'supplier', 'partner', 'internal')",
            name=op.f("ck_counterparties_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_counterparties_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_counterparties_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counterparties")),
        sa.UniqueConstraint(
            "organization_id", "name", name=op.f("uq_counterparties_organization_id_name")
        ),
    )
    with op.batch_alter_table("counterparties", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_counterparties_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "commitments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("play_id", sa.String(length=40), nullable=False),
        sa.Column("owner_role", sa.String(length=120), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_commitments_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["survey_rounds.id"],
            name=op.f("fk_commitments_round_id_survey_rounds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_commitments_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitments")),
    )
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commitments_round_id"), ["round_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_commitments_team_id"), ["team_id"], unique=False)

    _add_round_counterparty()


def _add_round_counterparty():
    """survey_rounds.counterparty_id, its index and its foreign key.

    On SQLite the column is added in place with a column-level REFERENCES
    clause: a batch rebuild would drop survey_rounds, and with foreign keys on,
    dropping it deletes every response, invitation and release of every round
    (ON DELETE CASCADE fires on DROP TABLE).
    """
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE survey_rounds ADD COLUMN counterparty_id INTEGER"
            " CONSTRAINT fk_survey_rounds_counterparty_id_counterparties"
            " REFERENCES counterparties (id)"
        )
    else:
        op.add_column("survey_rounds", sa.Column("counterparty_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_survey_rounds_counterparty_id_counterparties"),
            "survey_rounds",
            "counterparties",
            ["counterparty_id"],
            ["id"],
        )
    op.create_index(op.f("ix_survey_rounds_counterparty_id"), "survey_rounds", ["counterparty_id"])


def downgrade():
    # In place on SQLite as well (3.35+ drops a column whose only foreign key is its own
    # REFERENCES clause), never a rebuild that would cascade-delete every round's answers.
    op.drop_index(op.f("ix_survey_rounds_counterparty_id"), table_name="survey_rounds")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE survey_rounds DROP COLUMN counterparty_id")
    else:
        op.drop_constraint(
            op.f("fk_survey_rounds_counterparty_id_counterparties"),
            "survey_rounds",
            type_="foreignkey",
        )
        op.drop_column("survey_rounds", "counterparty_id")

    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commitments_team_id"))
        batch_op.drop_index(batch_op.f("ix_commitments_round_id"))
    op.drop_table("commitments")

    with op.batch_alter_table("counterparties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_counterparties_organization_id"))
    op.drop_table("counterparties")
