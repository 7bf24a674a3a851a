"""faults: process heartbeats; when a reminder was first tried (its retry key holds 24 hours from then)

Revision ID: faults
Revises: staff_security
"""
from alembic import op
import sqlalchemy as sa
import scheduling.store.models


revision = 'faults'
down_revision = 'staff_security'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('heartbeats',
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('beat_at', scheduling.store.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('role', 'holder')
    )
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_tried_at', scheduling.store.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_column('first_tried_at')
    op.drop_table('heartbeats')
