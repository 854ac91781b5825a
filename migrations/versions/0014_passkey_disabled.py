"""passkeys disabled after a cloned assertion (sign count going backwards): kept, shown, refused at sign-in

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa

from wallet.db import UTCDateTime


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('passkeys') as batch:
        batch.add_column(sa.Column('disabled_at', UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('passkeys') as batch:
        batch.drop_column('disabled_at')
