"""camera_lease and watch_worker: camera workers on a cluster (fenced camera leases,
worker heartbeats)

Revision ID: 0004_ray
Revises: 0004_pg
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_ray"
down_revision = "0004_pg"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "camera_lease",
        sa.Column("camera_key", sa.String(length=200), primary_key=True),
        sa.Column("worker_id", sa.String(length=200), nullable=True),
        sa.Column("token", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lag_s", sa.Float(), nullable=True),
    )
    op.create_index("ix_camera_lease_worker_id", "camera_lease", ["worker_id"])
    op.create_table(
        "watch_worker",
        sa.Column("worker_id", sa.String(length=200), primary_key=True),
        sa.Column("node", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("pid", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("state", sa.String(length=20), nullable=False, server_default="running"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cameras", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("frames", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("reports", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("lag_s", sa.Float(), nullable=False, server_default="0"),
        sa.Column("tick_s", sa.Float(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("watch_worker")
    op.drop_index("ix_camera_lease_worker_id", table_name="camera_lease")
    op.drop_table("camera_lease")
