"""screenings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:00:36.843469
"""
from alembic import op
import sqlalchemy as sa
import scheduling.store.models


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('screenings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('rules_version', sa.String(length=64), nullable=False),
    sa.Column('care_date', sa.String(length=10), nullable=False),
    sa.Column('answers', sa.Text(), nullable=False),
    sa.Column('decision', sa.Text(), nullable=False),
    sa.Column('created_at', scheduling.store.models.UTCDateTime(), nullable=False),
    sa.Column('source_event_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_event_id')
    )
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screenings_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screenings_user_id'))

    op.drop_table('screenings')
