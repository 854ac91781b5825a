"""invites: purpose (enrol | reset), so that a reset code works only on the reset page and the reverse

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invites') as batch:
        batch.add_column(sa.Column('purpose', sa.String(length=8), server_default='enrol', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('invites') as batch:
        batch.drop_column('purpose')
