"""airspace_zone: the operator's imported no-fly layer; drone home (launch point)

Revision ID: 0003_plan
Revises: 0003_share
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003_plan"
down_revision = "0003_share"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "airspace_zone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_key", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("geometry_geojson", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("lower_m", sa.Float(), nullable=True),
        sa.Column("upper_m", sa.Float(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("imported_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("airspace_zone") as batch:
        batch.create_index(batch.f("ix_airspace_zone_source_key"), ["source_key"], unique=True)
        batch.create_index(batch.f("ix_airspace_zone_name"), ["name"], unique=False)
        batch.create_index(batch.f("ix_airspace_zone_min_lon"), ["min_lon"], unique=False)
        batch.create_index(batch.f("ix_airspace_zone_min_lat"), ["min_lat"], unique=False)
    with op.batch_alter_table("drone") as batch:
        batch.add_column(sa.Column("home_lat_deg", sa.Float(), nullable=True))
        batch.add_column(sa.Column("home_lon_deg", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("drone") as batch:
        batch.drop_column("home_lon_deg")
        batch.drop_column("home_lat_deg")
    op.drop_table("airspace_zone")
