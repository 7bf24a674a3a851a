"""applications: the 利用申請 from the LIFF form, its contact fields encrypted

Revision ID: applications
Revises: faults
"""
from alembic import op
import sqlalchemy as sa
import scheduling.store.models


revision = 'applications'
down_revision = 'faults'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('applications',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('sealed', sa.Text(), nullable=True),
    sa.Column('baby_birth_date', sa.String(length=10), nullable=True),
    sa.Column('birth_weight_g', sa.Integer(), nullable=True),
    sa.Column('weeks_at_birth', sa.Integer(), nullable=True),
    sa.Column('care_types', sa.String(length=100), nullable=True),
    sa.Column('household', sa.String(length=16), nullable=True),
    sa.Column('consent_version', sa.String(length=32), nullable=True),
    sa.Column('consent_at', scheduling.store.models.UTCDateTime(), nullable=True),
    sa.Column('draft_token', sa.String(length=64), nullable=False),
    sa.Column('screening_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', scheduling.store.models.UTCDateTime(), nullable=True),
    sa.Column('decided_at', scheduling.store.models.UTCDateTime(), nullable=True),
    sa.Column('decided_by', sa.String(length=80), nullable=True),
    sa.Column('approval_year', sa.Integer(), nullable=True),
    sa.Column('approval_seq', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.String(length=10), nullable=True),
    sa.Column('valid_until', sa.String(length=10), nullable=True),
    sa.Column('return_reason', sa.Text(), nullable=True),
    sa.Column('created_at', scheduling.store.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', scheduling.store.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('draft_token'),
    sa.UniqueConstraint('approval_year', 'approval_seq', name='uq_applications_approval_number')
    )
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index('ix_applications_state_submitted', ['state', 'submitted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_user_id'), ['user_id'], unique=False)
        batch_op.create_index('uq_applications_open', ['user_id'], unique=True,
                              sqlite_where=sa.text("state IN ('draft', 'submitted', 'returned')"),
                              postgresql_where=sa.text("state IN ('draft', 'submitted', 'returned')"))


def downgrade() -> None:
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index('uq_applications_open')
        batch_op.drop_index(batch_op.f('ix_applications_user_id'))
        batch_op.drop_index('ix_applications_state_submitted')
    op.drop_table('applications')
