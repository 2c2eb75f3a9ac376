"""camera.retention_days (registry 보관일수) and people_density (the map's crowd-density
layer): privacy and density of issue #16

Revision ID: 0006_privacy
Revises: 0005_sightings
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_privacy"
down_revision = "0005_sightings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("camera") as b:
        b.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))
    op.create_table(
        "people_density",
        sa.Column("camera_key", sa.String(length=200), primary_key=True),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("area_m2", sa.Float(), nullable=True),
        sa.Column("density_per_m2", sa.Float(), nullable=True),
        sa.Column("zone_geojson", sa.String(), nullable=True),
    )
    op.create_index("ix_people_density_observed_at", "people_density", ["observed_at"])


def downgrade() -> None:
    op.drop_index("ix_people_density_observed_at", table_name="people_density")
    op.drop_table("people_density")
    with op.batch_alter_table("camera") as b:
        b.drop_column("retention_days")
