"""advisory.unread: why an advisory page's Response Matrix could not be read (its fixes are unknown)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 23:55:00.000000
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("advisory") as batch:
        batch.add_column(sa.Column("unread", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("advisory") as batch:
        batch.drop_column("unread")
