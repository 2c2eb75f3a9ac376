"""person_sighting: compact sightings of tracked persons for missing-person search
(time and ground-position indexes; packed appearance vector; crop file path);
person_sighting_pack: column-packed copies of consecutive sightings for fast scoring

Revision ID: 0005_sightings
Revises: 0004_ray
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_sightings"
down_revision = "0004_ray"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person_sighting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_kind", sa.String(length=20), nullable=False),
        sa.Column("camera_key", sa.String(length=200), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("x1", sa.Float(), nullable=False),
        sa.Column("y1", sa.Float(), nullable=False),
        sa.Column("x2", sa.Float(), nullable=False),
        sa.Column("y2", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("uncertainty_m", sa.Float(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False, server_default="0"),
        sa.Column("upper_colour", sa.String(length=12), nullable=False, server_default=""),
        sa.Column("lower_colour", sa.String(length=12), nullable=False, server_default=""),
        sa.Column("build", sa.String(length=10), nullable=False, server_default=""),
        sa.Column("feature_version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("attrs", sa.LargeBinary(), nullable=False),
        sa.Column("crop_path", sa.String(length=1000), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False, server_default="unreviewed"),
        sa.Column("reviewed_by", sa.String(length=100), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_person_sighting_captured_at", "person_sighting", ["captured_at"])
    op.create_index("ix_person_sighting_camera_key", "person_sighting", ["camera_key"])
    op.create_index("ix_person_sighting_lat_lon", "person_sighting", ["lat", "lon"])
    op.create_index("ix_person_sighting_status", "person_sighting", ["status"])
    op.create_table(
        "person_sighting_pack",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_lo", sa.Integer(), nullable=False),
        sa.Column("id_hi", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("ids", sa.LargeBinary(), nullable=False),
        sa.Column("t_s", sa.LargeBinary(), nullable=False),
        sa.Column("lat", sa.LargeBinary(), nullable=False),
        sa.Column("lon", sa.LargeBinary(), nullable=False),
        sa.Column("builds", sa.LargeBinary(), nullable=False),
        sa.Column("attrs", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id_lo", name="uq_person_sighting_pack_id_lo"),
    )
    op.create_index("ix_person_sighting_pack_id_hi", "person_sighting_pack", ["id_hi"])
    op.create_index("ix_person_sighting_pack_first_at", "person_sighting_pack", ["first_at"])
    op.create_index("ix_person_sighting_pack_last_at", "person_sighting_pack", ["last_at"])


def downgrade() -> None:
    op.drop_table("person_sighting_pack")
    op.drop_index("ix_person_sighting_status", table_name="person_sighting")
    op.drop_index("ix_person_sighting_lat_lon", table_name="person_sighting")
    op.drop_index("ix_person_sighting_camera_key", table_name="person_sighting")
    op.drop_index("ix_person_sighting_captured_at", table_name="person_sighting")
    op.drop_table("person_sighting")
