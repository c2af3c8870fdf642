"""search index tags: the topics an item is on (fast `topic:` searches)

The tags of items that are on some topic are rewritten with their topic tags; other items'
tags do not change. The tag format is written out here (as storage.search writes it at this
revision), so that a later change there cannot change what this migration did.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

BATCH = 5000
SET_TAGS = {
    "sqlite": "UPDATE item_fts SET tags = :tags WHERE rowid = :id",
    "postgresql": "UPDATE item_search SET tsv = ts_filter(tsv, '{a,b}')"
                  " || setweight(to_tsvector('simple', :tags), 'D') WHERE item_id = :id",
}


def _tags(lang: str, source_id: int, topics: list[str]) -> str:
    lang_tag = "zzlang" + "".join(ch for ch in lang.lower() if ch.isalnum())
    topic_tags = ["zztopic" + topic.encode().hex() for topic in sorted(topics)]
    return " ".join([lang_tag, f"zzsrc{source_id}", *topic_tags])


def _retag(with_topics: bool) -> None:
    """Rewrite the tags of every on-topic item, an id range at a time."""
    bind = op.get_bind()
    statement = sa.text(SET_TAGS[bind.dialect.name])
    newest = bind.execute(sa.text("SELECT max(id) FROM item")).scalar() or 0
    for first in range(1, newest + 1, BATCH):
        rows = bind.execute(
            sa.text("SELECT i.id, i.lang, i.source_id, t.topic_id FROM item AS i"
                    " JOIN item_topic AS t ON t.item_id = i.id AND t.on_topic"
                    " WHERE i.id >= :first AND i.id < :after"),
            {"first": first, "after": first + BATCH},
        ).all()
        tags: dict[int, tuple[str, int, list[str]]] = {}
        for item_id, lang, source_id, topic_id in rows:
            tags.setdefault(item_id, (lang, source_id, []))[2].append(topic_id)
        if tags:
            bind.execute(statement, [
                {"id": item_id,
                 "tags": _tags(lang, source_id, topics if with_topics else [])}
                for item_id, (lang, source_id, topics) in tags.items()
            ])


def upgrade() -> None:
    _retag(with_topics=True)


def downgrade() -> None:
    _retag(with_topics=False)
