"""partial index of on-topic items per topic (search's topic: filter)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_item_topic_on", "item_topic", ["topic_id", "item_id"],
                    sqlite_where=sa.text("on_topic"), postgresql_where=sa.text("on_topic"))


def downgrade() -> None:
    op.drop_index("ix_item_topic_on", table_name="item_topic")
