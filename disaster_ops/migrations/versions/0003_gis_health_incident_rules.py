"""camera health (stale, last error, heartbeat expiry); incident kinds, stale, suppression;
detection uncertainty (PTZ / 360° cameras)

Revision ID: 0003_gis
Revises: 0003_plan
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_gis"
down_revision = "0003_plan"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("camera") as batch:
        batch.add_column(sa.Column("last_error", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("health_expires_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("incident") as batch:
        batch.add_column(sa.Column("kinds", sa.String(length=200), nullable=False, server_default=""))
        batch.add_column(sa.Column("status_before_stale", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("suppressed_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("detection") as batch:
        batch.add_column(sa.Column("uncertainty_m", sa.Float(), nullable=True))
    op.execute("UPDATE incident SET kinds = kind WHERE kinds = ''")


def downgrade() -> None:
    with op.batch_alter_table("detection") as batch:
        batch.drop_column("uncertainty_m")
    with op.batch_alter_table("incident") as batch:
        batch.drop_column("suppressed_until")
        batch.drop_column("status_before_stale")
        batch.drop_column("kinds")
    with op.batch_alter_table("camera") as batch:
        batch.drop_column("health_expires_at")
        batch.drop_column("last_error")
