"""search index tags: item language and source as index terms (fast filtered searches)

SQLite gets a `tags` column in item_fts (the table is rebuilt); on PostgreSQL the tags are
lexemes of weight D in the existing tsvector. Existing items are re-indexed.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from storage.search import index_row, index_text, write_index_sql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

BATCH = 1000


def _reindex() -> None:
    bind = op.get_bind()
    statements = write_index_sql(bind.dialect.name)
    last_id = 0
    while True:
        rows = bind.execute(
            sa.text("SELECT id, title, text, lang, source_id FROM item WHERE id > :last"
                    " ORDER BY id LIMIT :batch"),
            {"last": last_id, "batch": BATCH},
        ).all()
        if not rows:
            return
        index_rows = [index_row(*row) for row in rows]
        for statement in statements:
            bind.execute(statement, index_rows)
        last_id = rows[-1][0]


def _create_fts(columns: str) -> None:
    op.execute("DROP TABLE IF EXISTS item_fts")
    op.execute(
        f"CREATE VIRTUAL TABLE item_fts USING fts5({columns},"
        " tokenize = 'unicode61 remove_diacritics 0')"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _create_fts("title, body, tags")
    _reindex()


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.execute("UPDATE item_search SET tsv = ts_filter(tsv, '{a,b}')")
        return
    _create_fts("title, body")
    rows = bind.execute(sa.text("SELECT id, title, text FROM item")).all()
    if rows:
        bind.execute(
            sa.text("INSERT INTO item_fts (rowid, title, body) VALUES (:id, :title, :body)"),
            [{"id": i, "title": index_text(title), "body": index_text(text)}
             for i, title, text in rows],
        )
