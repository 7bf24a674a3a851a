"""inbound events, outgoing messages, users, conversation state

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 15:44:48.243423
"""
from alembic import op
import sqlalchemy as sa
import scheduling.store.models


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversation_states',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('expires_at', scheduling.store.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_table('inbound_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('webhook_event_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('occurred_at', scheduling.store.models.UTCDateTime(), nullable=False),
    sa.Column('received_at', scheduling.store.models.UTCDateTime(), nullable=False),
    sa.Column('is_redelivery', sa.Boolean(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('lease_until', scheduling.store.models.UTCDateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('webhook_event_id')
    )
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_events_status_received', ['status', 'received_at'], unique=False)
        batch_op.create_index('ix_inbound_events_user_pending', ['user_id', 'status', 'occurred_at', 'id'], unique=False)

    op.create_table('line_users',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('following', sa.Boolean(), nullable=False),
    sa.Column('blocked_at', scheduling.store.models.UTCDateTime(), nullable=True),
    sa.Column('created_at', scheduling.store.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_table('outgoing_messages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('messages', sa.Text(), nullable=False),
    sa.Column('reply_token', sa.String(length=255), nullable=True),
    sa.Column('reply_deadline', scheduling.store.models.UTCDateTime(), nullable=True),
    sa.Column('retry_key', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('not_before', scheduling.store.models.UTCDateTime(), nullable=False),
    sa.Column('lease_until', scheduling.store.models.UTCDateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_via', sa.String(length=8), nullable=True),
    sa.Column('created_at', scheduling.store.models.UTCDateTime(), nullable=False),
    sa.Column('sent_at', scheduling.store.models.UTCDateTime(), nullable=True),
    sa.Column('source_event_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('retry_key')
    )
    with op.batch_alter_table('outgoing_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outgoing_messages_status_not_before', ['status', 'not_before'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outgoing_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outgoing_messages_status_not_before')

    op.drop_table('outgoing_messages')
    op.drop_table('line_users')
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_events_user_pending')
        batch_op.drop_index('ix_inbound_events_status_received')

    op.drop_table('inbound_events')
    op.drop_table('conversation_states')
