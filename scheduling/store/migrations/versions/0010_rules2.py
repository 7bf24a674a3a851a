"""rules2: staff's marks of needs only staff can judge (the rules file's staff_needs), per resident record

Revision ID: rules2
Revises: faults
"""
import sqlalchemy as sa
from alembic import op

import scheduling.store.models

revision = 'rules2'
down_revision = 'applications'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_needs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('mother_id', sa.Integer(), nullable=False),
    sa.Column('need', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('marked_at', scheduling.store.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['mother_id'], ['mothers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mother_id', 'need', name='uq_staff_needs_mother_need')
    )
    with op.batch_alter_table('staff_needs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_needs_mother_id'), ['mother_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('staff_needs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_needs_mother_id'))
    op.drop_table('staff_needs')
