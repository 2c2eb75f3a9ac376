"""app_user: people who log in (argon2 hash, role, agency, lock-out counters)

Revision ID: 0003_auth
Revises: 0003_aerial
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_auth"
down_revision = "0003_aerial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("agency", sa.String(length=200), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("app_user") as batch:
        batch.create_index("ix_app_user_name", ["name"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.drop_index("ix_app_user_name")
    op.drop_table("app_user")
