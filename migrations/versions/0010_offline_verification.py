"""offline verification: each shared document's entry in a Token Status List, and counter shares' numeric code
(stored as a keyed hash, like the token)

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('share_items') as batch:
        batch.add_column(sa.Column('status_list', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('status_idx', sa.Integer(), nullable=True))
        batch.create_index('ix_share_items_status', ['status_list', 'status_idx'], unique=True)
    with op.batch_alter_table('shares') as batch:
        batch.add_column(sa.Column('code_hash', sa.String(length=64), nullable=True))
        batch.create_index('ix_shares_code_hash', ['code_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('shares') as batch:
        batch.drop_index('ix_shares_code_hash')
        batch.drop_column('code_hash')
    with op.batch_alter_table('share_items') as batch:
        batch.drop_index('ix_share_items_status')
        batch.drop_column('status_idx')
        batch.drop_column('status_list')
