"""vcf_release: VMware Cloud Foundation releases and their bills of materials

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 08:40:00.000000
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vcf_release",
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("release_date", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("notes_url", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("source_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )


def downgrade() -> None:
    op.drop_table("vcf_release")
