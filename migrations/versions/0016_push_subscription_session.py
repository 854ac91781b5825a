"""a browser's notifications end with the sign-in session they were turned on in (push_subscriptions.session_id)

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('push_subscriptions') as batch:
        batch.add_column(sa.Column('session_id', sa.String(length=64), nullable=True))
        batch.create_index('ix_push_subscriptions_session_id', ['session_id'])


def downgrade() -> None:
    with op.batch_alter_table('push_subscriptions') as batch:
        batch.drop_index('ix_push_subscriptions_session_id')
        batch.drop_column('session_id')
