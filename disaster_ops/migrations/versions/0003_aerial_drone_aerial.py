"""drone_aerial: a drone's video URL, auto-dispatch setting and live camera footprint

Revision ID: 0003_aerial
Revises: 0003_gis
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_aerial"
down_revision = "0003_gis"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drone_aerial",
        sa.Column("drone_id", sa.Integer(), sa.ForeignKey("drone.id"), primary_key=True),
        sa.Column("video_url", sa.String(length=1000), nullable=True),
        sa.Column("auto_dispatch", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("auto_dispatch_by", sa.String(length=100), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("frame_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("georeferenced", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("footprint_geojson", sa.String(), nullable=True),
        sa.Column("track_geojson", sa.String(), nullable=True),
        sa.Column("frames", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("frames_unreferenced", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("detections", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("drone_aerial")
