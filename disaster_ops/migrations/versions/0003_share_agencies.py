"""share: agencies and their sharing rules, the CAP message ledger, delivery state of live sinks

Revision ID: 0003_share
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_share"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agency",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("region_geojson", sa.String(), nullable=True),
        sa.Column("kinds", sa.String(400), nullable=True),
        sa.Column("min_severity", sa.Integer(), nullable=False),
        sa.Column("include_media", sa.Boolean(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_agency_name", "agency", ["name"], unique=True)
    op.create_table(
        "cap_message",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incident.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(200), nullable=False, unique=True),
        sa.Column("sent", sa.DateTime(timezone=True), nullable=False),
        sa.Column("msg_type", sa.String(10), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("xml", sa.String(), nullable=False),
    )
    op.create_index("ix_cap_message_incident_id", "cap_message", ["incident_id"])
    op.create_index("ix_cap_message_sent", "cap_message", ["sent"])
    op.create_table(
        "share_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sink", sa.String(100), nullable=False),
        sa.Column("agency", sa.String(100), nullable=False),
        sa.Column("object_key", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state_json", sa.String(), nullable=False),
        sa.Column("ended", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("sink", "agency", "object_key", name="uq_share_delivery"),
    )


def downgrade() -> None:
    op.drop_table("share_delivery")
    op.drop_index("ix_cap_message_sent", table_name="cap_message")
    op.drop_index("ix_cap_message_incident_id", table_name="cap_message")
    op.drop_table("cap_message")
    op.drop_index("ix_agency_name", table_name="agency")
    op.drop_table("agency")
