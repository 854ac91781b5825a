"""audit: keyed chain (format, key id) and signed checkpoints

Existing events keep chain_format 1 (unkeyed SHA-256) and verify as they are, up to the first keyed event;
that event's prev_hash is the last legacy event's hash, so its HMAC pins the whole legacy prefix.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa
import wallet.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events') as batch:
        batch.add_column(sa.Column('chain_format', sa.SmallInteger(), server_default='1', nullable=False))
        batch.add_column(sa.Column('key_id', sa.String(length=40), nullable=True))
    op.create_table('audit_checkpoints',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('at', wallet.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('chain_key_id', sa.String(length=40), nullable=False),
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('signature', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_checkpoints'))
    )


def downgrade() -> None:
    op.drop_table('audit_checkpoints')
    with op.batch_alter_table('audit_events') as batch:
        batch.drop_column('key_id')
        batch.drop_column('chain_format')
