"""damaged blobs: documents and sealed copies marked by `fsck --repair`

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import wallet.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('damage', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('damaged_at', wallet.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('share_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('copy_damage', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('copy_damaged_at', wallet.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('share_items', schema=None) as batch_op:
        batch_op.drop_column('copy_damaged_at')
        batch_op.drop_column('copy_damage')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_column('damaged_at')
        batch_op.drop_column('damage')
