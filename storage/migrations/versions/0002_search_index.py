"""full-text search index: SQLite FTS5 table / PostgreSQL tsvector side table

Both hold the normalised text of an item (storage.search.index_text); rows go away with
their item (a trigger on SQLite, ON DELETE CASCADE on PostgreSQL).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE item_fts USING fts5("
            "title, body, tokenize = 'unicode61 remove_diacritics 0')"
        )
        op.execute(
            "CREATE TRIGGER item_fts_delete AFTER DELETE ON item BEGIN "
            "DELETE FROM item_fts WHERE rowid = old.id; END"
        )
        return
    op.execute(
        "CREATE TABLE item_search ("
        "item_id INTEGER PRIMARY KEY REFERENCES item(id) ON DELETE CASCADE, "
        "tsv TSVECTOR NOT NULL)"
    )
    op.execute("CREATE INDEX ix_item_search_tsv ON item_search USING GIN (tsv)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS item_fts_delete")
        op.execute("DROP TABLE IF EXISTS item_fts")
        return
    op.execute("DROP TABLE IF EXISTS item_search")
