"""camera: per-camera detection settings and lens field of view

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("camera") as batch:
        batch.add_column(sa.Column("detect_config", sa.String(), nullable=True))
        batch.add_column(sa.Column("image_hfov_deg", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("camera") as batch:
        batch.drop_column("image_hfov_deg")
        batch.drop_column("detect_config")
