"""representation: agencies' capabilities, guardianships (civil registry), mandates (proxies), and who made a share
for whom (a representative's shares end with the record they were made under)

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa
import wallet.db


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agencies') as batch:
        batch.add_column(sa.Column('capabilities', sa.JSON(), server_default='[]', nullable=False))
    op.create_table('guardianships',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('agency_id', sa.String(length=32), nullable=True),
    sa.Column('reference', sa.String(length=120), nullable=False),
    sa.Column('guardian_id', sa.String(length=32), nullable=False),
    sa.Column('guardian_name', sa.String(length=200), nullable=False),
    sa.Column('minor_id', sa.String(length=32), nullable=False),
    sa.Column('minor_name', sa.String(length=200), nullable=False),
    sa.Column('basis', sa.String(length=16), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('created_at', wallet.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', wallet.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revocation_reason', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_guardianships_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guardianships')),
    sa.UniqueConstraint('agency_id', 'reference', name='uq_guardianships_agency_reference'))
    op.create_index(op.f('ix_guardianships_guardian_id'), 'guardianships', ['guardian_id'])
    op.create_index(op.f('ix_guardianships_minor_id'), 'guardianships', ['minor_id'])
    op.create_table('mandates',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('grantor_id', sa.String(length=32), nullable=False),
    sa.Column('proxy_id', sa.String(length=32), nullable=False),
    sa.Column('types', sa.JSON(), nullable=True),
    sa.Column('can_share', sa.Boolean(), nullable=False),
    sa.Column('created_at', wallet.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', wallet.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', wallet.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mandates')))
    op.create_index(op.f('ix_mandates_grantor_id'), 'mandates', ['grantor_id'])
    op.create_index(op.f('ix_mandates_proxy_id'), 'mandates', ['proxy_id'])
    with op.batch_alter_table('shares') as batch:
        batch.add_column(sa.Column('holder_national_id', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('holder_name', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('presented_as', sa.String(length=8), nullable=True))
        batch.add_column(sa.Column('presented_by_name', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('guardianship_id', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('mandate_id', sa.String(length=32), nullable=True))
        batch.create_foreign_key(op.f('fk_shares_guardianship_id_guardianships'), 'guardianships',
                                 ['guardianship_id'], ['id'])
        batch.create_foreign_key(op.f('fk_shares_mandate_id_mandates'), 'mandates', ['mandate_id'], ['id'])
        batch.create_index(op.f('ix_shares_holder_national_id'), ['holder_national_id'])
        batch.create_index(op.f('ix_shares_guardianship_id'), ['guardianship_id'])
        batch.create_index(op.f('ix_shares_mandate_id'), ['mandate_id'])


def downgrade() -> None:
    with op.batch_alter_table('shares') as batch:
        for name in ('ix_shares_mandate_id', 'ix_shares_guardianship_id', 'ix_shares_holder_national_id'):
            batch.drop_index(op.f(name))
        batch.drop_constraint(op.f('fk_shares_mandate_id_mandates'), type_='foreignkey')
        batch.drop_constraint(op.f('fk_shares_guardianship_id_guardianships'), type_='foreignkey')
        for col in ('mandate_id', 'guardianship_id', 'presented_by_name', 'presented_as', 'holder_name',
                    'holder_national_id'):
            batch.drop_column(col)
    op.drop_table('mandates')
    op.drop_table('guardianships')
    with op.batch_alter_table('agencies') as batch:
        batch.drop_column('capabilities')
