"""batch issuance: batches and their items (issue 16)

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

from wallet.db import UTCDateTime


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'batches',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('agency_id', sa.String(length=32), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('pending', sa.Integer(), nullable=False),
        sa.Column('accepted', sa.Integer(), nullable=False),
        sa.Column('rejected', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.String(length=64), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('completed_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name='fk_batches_agency_id_agencies'),
        sa.PrimaryKeyConstraint('id', name='pk_batches'),
    )
    op.create_index('ix_batches_agency_id', 'batches', ['agency_id'], unique=False)
    op.create_table(
        'batch_items',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('batch_id', sa.String(length=32), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(length=128), nullable=False),
        sa.Column('meta', sa.JSON(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('blob_key', sa.String(length=200), nullable=True),
        sa.Column('wrapped_key', sa.LargeBinary(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('document_id', sa.String(length=32), nullable=True),
        sa.Column('error_code', sa.String(length=64), nullable=True),
        sa.Column('error_detail', sa.String(length=1000), nullable=True),
        sa.Column('decided_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name='fk_batch_items_batch_id_batches'),
        sa.PrimaryKeyConstraint('id', name='pk_batch_items'),
        sa.UniqueConstraint('batch_id', 'position', name='uq_batch_items_batch_position'),
    )
    op.create_index('ix_batch_items_status_batch', 'batch_items', ['status', 'batch_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_batch_items_status_batch', table_name='batch_items')
    op.drop_table('batch_items')
    op.drop_index('ix_batches_agency_id', table_name='batches')
    op.drop_table('batches')
