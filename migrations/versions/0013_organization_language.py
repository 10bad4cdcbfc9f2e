"""organization language

The language of an organization's invitation and reminder emails. Existing
organizations get "en", the language every email was written in until now.
SQLite adds the column in place (ALTER TABLE ADD COLUMN), so no table is rebuilt.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 06:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=8), server_default="en", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("language")
