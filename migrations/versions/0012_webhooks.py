"""agencies' webhooks: the endpoint and its signing secret (under the master key), and the deliveries outbox

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa
import wallet.db


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webhook_endpoints',
    sa.Column('agency_id', sa.String(length=32), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('secret_enc', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', wallet.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('secret_created_at', wallet.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_webhook_endpoints_agency_id_agencies')),
    sa.PrimaryKeyConstraint('agency_id', name=op.f('pk_webhook_endpoints')))
    op.create_table('webhook_deliveries',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('agency_id', sa.String(length=32), nullable=False),
    sa.Column('event_id', sa.String(length=32), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', wallet.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('created_at', wallet.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', wallet.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', wallet.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_webhook_deliveries_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('event_id', name=op.f('uq_webhook_deliveries_event_id')))
    op.create_index('ix_webhook_deliveries_agency_created', 'webhook_deliveries',
                    ['agency_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_webhook_deliveries_due', 'webhook_deliveries', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_webhook_deliveries_due', table_name='webhook_deliveries')
    op.drop_index('ix_webhook_deliveries_agency_created', table_name='webhook_deliveries')
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_endpoints')
