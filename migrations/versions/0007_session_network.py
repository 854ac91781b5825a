"""citizen_sessions: ip_prefix, the network a session was opened from (shown to the holder, never the address)

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('citizen_sessions') as batch:
        batch.add_column(sa.Column('ip_prefix', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('citizen_sessions') as batch:
        batch.drop_column('ip_prefix')
