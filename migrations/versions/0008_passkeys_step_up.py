"""passkeys (WebAuthn credentials), their single-use challenges, and the sessions' last authentications (step-up)

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

from wallet.db import UTCDateTime


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'passkeys',
        sa.Column('id', sa.String(length=32), primary_key=True),
        sa.Column('citizen_id', sa.String(length=32), sa.ForeignKey('citizens.id'), nullable=False),
        sa.Column('credential_id', sa.LargeBinary(), nullable=False),
        sa.Column('credential_data', sa.LargeBinary(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('sign_count', sa.Integer(), nullable=False),
        sa.Column('backup_eligible', sa.Boolean(), nullable=False),
        sa.Column('backed_up', sa.Boolean(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('last_used_at', UTCDateTime(), nullable=True),
        sa.UniqueConstraint('credential_id', name='uq_passkeys_credential_id'),
    )
    op.create_index('ix_passkeys_citizen_id', 'passkeys', ['citizen_id'])
    op.create_table(
        'webauthn_challenges',
        sa.Column('id', sa.String(length=64), primary_key=True),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('binding', sa.String(length=64), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
    )
    with op.batch_alter_table('citizen_sessions') as batch:
        batch.add_column(sa.Column('authenticated_at', UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('stepped_up_at', UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('citizen_sessions') as batch:
        batch.drop_column('stepped_up_at')
        batch.drop_column('authenticated_at')
    op.drop_table('webauthn_challenges')
    op.drop_index('ix_passkeys_citizen_id', table_name='passkeys')
    op.drop_table('passkeys')
