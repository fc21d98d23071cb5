"""Sign-in throttling instead of account lock-out, and TOTP MFA (issue 15 item 7)

users loses failed_logins and locked_until (the hard lock-out an attacker could turn against
the real user); sign_in_throttle counts failures per key and known_sign_in_addresses holds
where each account signed in from. users gains the TOTP secret, its enrolment time and the
last accepted time step; recovery_codes holds hashed single-use codes; api_tokens gains a
purpose (a session, or the pending second step of a web sign-in).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both databases (as in 0006): a batch operation would copy "users".
def upgrade() -> None:
    op.drop_column("users", "failed_logins")
    op.drop_column("users", "locked_until")
    op.add_column("users", sa.Column("totp_secret", sa.String(64), nullable=True))
    op.add_column("users", sa.Column("totp_enrolled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("totp_last_step", sa.Integer(), nullable=True))
    op.add_column("api_tokens", sa.Column("purpose", sa.String(10), nullable=False,
                                          server_default="session"))
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_recovery_codes_user_id", "recovery_codes", ["user_id"])
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_sign_in_throttle_last_failure_at", "sign_in_throttle",
                    ["last_failure_at"])
    op.create_table(
        "known_sign_in_addresses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("user_id", "address", name="uq_known_address"),
    )
    op.create_index("ix_known_sign_in_addresses_user_id", "known_sign_in_addresses",
                    ["user_id"])


def downgrade() -> None:
    op.drop_table("known_sign_in_addresses")
    op.drop_table("sign_in_throttle")
    op.drop_table("recovery_codes")
    op.drop_column("api_tokens", "purpose")
    op.drop_column("users", "totp_last_step")
    op.drop_column("users", "totp_enrolled_at")
    op.drop_column("users", "totp_secret")
    op.add_column("users", sa.Column("locked_until", sa.DateTime(timezone=True),
                                     nullable=True))
    op.add_column("users", sa.Column("failed_logins", sa.Integer(), nullable=False,
                                     server_default="0"))
