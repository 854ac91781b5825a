"""Web Push: the browsers' push subscriptions of citizens

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa

from wallet.db import UTCDateTime


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'push_subscriptions',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('citizen_id', sa.String(length=32), nullable=False),
        sa.Column('endpoint_hash', sa.String(length=64), nullable=False),
        sa.Column('endpoint', sa.String(length=1024), nullable=False),
        sa.Column('p256dh', sa.LargeBinary(), nullable=False),
        sa.Column('auth', sa.LargeBinary(), nullable=False),
        sa.Column('lang', sa.String(length=8), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('last_sent_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], ondelete='CASCADE',
                                name=op.f('fk_push_subscriptions_citizen_id_citizens')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_push_subscriptions')),
        sa.UniqueConstraint('endpoint_hash', name=op.f('uq_push_subscriptions_endpoint_hash')),
    )
    op.create_index(op.f('ix_push_subscriptions_citizen_id'), 'push_subscriptions', ['citizen_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_push_subscriptions_citizen_id'), table_name='push_subscriptions')
    op.drop_table('push_subscriptions')
