"""an unlimited share's views counted in its log (share_views.counts_view), not on the share's row

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('share_views') as batch:
        batch.add_column(sa.Column('counts_view', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    # fold the log's counts back into the rows before the column goes
    op.execute("UPDATE shares SET views_used = views_used + (SELECT count(*) FROM share_views v "
               "WHERE v.share_id = shares.id AND v.counts_view)")
    with op.batch_alter_table('share_views') as batch:
        batch.drop_column('counts_view')
