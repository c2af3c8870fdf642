"""Full-text search over stored items: SQLite FTS5 or a PostgreSQL tsvector with a GIN index.

Both indexes hold the same normalised text (`index_text`: stems of lemmas, ё→е, lower-case,
see storage.query.stem), written by `index_items` inside the item's own transaction; the
query side normalises the same way. Nothing backend-specific leaves this module.

Ranking: the most recent `CANDIDATES` matching items are ranked by relevance (bm25 /
ts_rank, scaled to the best match), recency and topic score; on-topic items win ties.
Matches are counted up to `COUNT_CAP` (a common word would otherwise cost a full count).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import Item, ItemTopic, Source, UTCDateTime
from storage.query import Query, fts5_expression, index_terms, parse, tsquery_expression
from storage.text import fold

CANDIDATES = 200  # the most recent matches ranked per query; beyond that recency dominates
COUNT_CAP = 1000  # matches are counted up to here; more shows as "1000+"
FIRST_ID_RANGE = 20_000  # PostgreSQL: the newest ids searched first (see _match)
MAX_WIDENING = 16.0
SINCE_BOUND_LIMIT = 50_000  # since: bounds the index scan when fewer items are that recent
MAX_INDEXED_CHARS = 20_000
RECENCY_WEIGHT = 0.35
RECENCY_HALF_LIFE_DAYS = 30.0
TOPIC_WEIGHT = 0.25
REINDEX_BATCH = 1000


@dataclass(frozen=True)
class Hit:
    """One search result as the bot and the terminal show it."""

    item_id: int
    title: str
    url: str
    source: str
    published_at: datetime
    topics: tuple[str, ...]  # on-topic topic ids, best first


@dataclass(frozen=True)
class SearchPage:
    total: int  # at most COUNT_CAP for a search: then `more` is set
    hits: list[Hit]
    query_hint: str | None = None  # a hint code from storage.query (e.g. "bad_since")
    more: bool = False  # there are more than `total` matches

    def total_pages(self, per_page: int) -> int:
        """Pages that can be shown: the best CANDIDATES of a larger result are ranked."""
        shown = min(self.total, CANDIDATES) if self.more else self.total
        return max(1, math.ceil(shown / per_page))

    @property
    def total_text(self) -> str:
        return f"{self.total}+" if self.more else str(self.total)


def index_text(text: str) -> str:
    """`text` as the index stores it: its normalised words joined by spaces."""
    return " ".join(index_terms(text[:MAX_INDEXED_CHARS]))


def lang_tag(lang: str) -> str:
    """The index tag of an item language: filters are index terms, so a filtered search is an
    intersection inside the index rather than a row-by-row check of every match."""
    return "zzlang" + "".join(ch for ch in fold(lang) if ch.isalnum())


def source_tag(source_id: int) -> str:
    return f"zzsrc{source_id}"


def topic_tag(topic_id: str) -> str:
    """The tag of an item that is on topic `topic_id` (hex: ids may hold `_`, which both
    tokenizers split on)."""
    return "zztopic" + topic_id.encode().hex()


def tags_text(lang: str, source_id: int, topics: Iterable[str] = ()) -> str:
    """An item's index tags: its language, its outlet and the topics it is on."""
    return " ".join([lang_tag(lang), source_tag(source_id), *map(topic_tag, sorted(topics))])


# ---------------------------------------------------------------- writing the index

_FTS5_DELETE = sa.text("DELETE FROM item_fts WHERE rowid = :id")
_FTS5_INSERT = sa.text(
    "INSERT INTO item_fts (rowid, title, body, tags) VALUES (:id, :title, :body, :tags)"
)
_PG_UPSERT = sa.text(
    "INSERT INTO item_search (item_id, tsv) VALUES (:id, "
    "setweight(to_tsvector('simple', :title), 'A') || setweight(to_tsvector('simple', :body), 'B')"
    " || setweight(to_tsvector('simple', :tags), 'D'))"
    " ON CONFLICT (item_id) DO UPDATE SET tsv = excluded.tsv"
)
# tags have a column of their own in FTS5 and are the only terms of weight D on PostgreSQL:
# replacing them leaves the words as they are
_FTS5_SET_TAGS = sa.text("UPDATE item_fts SET tags = :tags WHERE rowid = :id")
_PG_SET_TAGS = sa.text(
    "UPDATE item_search SET tsv = ts_filter(tsv, '{a,b}')"
    " || setweight(to_tsvector('simple', :tags), 'D') WHERE item_id = :id"
)


def index_row(item_id: int, title: str, text: str, lang: str, source_id: int,
              topics: Iterable[str] = ()) -> dict[str, object]:
    """One item's index row: what `index_items` writes (bulk loaders and migrations too)."""
    return {"id": item_id, "title": index_text(title), "body": index_text(text or ""),
            "tags": tags_text(lang, source_id, topics)}


def write_index_sql(dialect: str) -> list[sa.TextClause]:
    """The statements that write index rows (each run with every row) on `dialect`."""
    return [_FTS5_DELETE, _FTS5_INSERT] if dialect == "sqlite" else [_PG_UPSERT]


def write_tags_sql(dialect: str) -> sa.TextClause:
    """The statement that replaces the tags of an indexed item (run with `{id, tags}` rows)."""
    return _FTS5_SET_TAGS if dialect == "sqlite" else _PG_SET_TAGS


async def _tag_inputs(
    session: AsyncSession, item_ids: Collection[int]
) -> dict[int, tuple[str, int, list[str]]]:
    """Language, outlet and on-topic topics of stored items, as the session sees them."""
    rows = await session.exec(
        sa.select(Item.id, Item.lang, Item.source_id).where(Item.id.in_(list(item_ids)))
    )
    found: dict[int, tuple[str, int, list[str]]] = {
        item_id: (lang, source_id, []) for item_id, lang, source_id in rows
    }
    topics = await session.exec(
        sa.select(ItemTopic.item_id, ItemTopic.topic_id)
        .where(ItemTopic.item_id.in_(list(found)), ItemTopic.on_topic)
    )
    for item_id, topic_id in topics:
        found[item_id][2].append(topic_id)
    return found


async def index_items(session: AsyncSession, items: Sequence[Item]) -> None:
    """Add or refresh the index rows of `items` in the session's transaction (no commit).

    The rows must be flushed (ids set), their topic scores too. Title and text come from
    `items`; language, outlet and topics are read back from the store, so callers may pass
    just id, title and text."""
    texts = {item.id: (item.title, item.text) for item in items if item.id is not None}
    if not texts:
        return
    stored = await _tag_inputs(session, texts)
    rows = [index_row(item_id, *texts[item_id], *tags) for item_id, tags in stored.items()]
    for statement in write_index_sql(session.bind.dialect.name) if rows else ():
        await session.exec(statement, params=rows)


async def refresh_tags(session: AsyncSession, item_ids: Collection[int]) -> None:
    """Rewrite the tags of indexed items after their topic scores changed (no commit)."""
    if not item_ids:
        return
    stored = await _tag_inputs(session, item_ids)
    rows = [{"id": item_id, "tags": tags_text(*tags)} for item_id, tags in stored.items()]
    if rows:
        await session.exec(write_tags_sql(session.bind.dialect.name), params=rows)


async def reindex(db: Database, batch: int = REINDEX_BATCH) -> int:
    """Rebuild the index rows of every stored item (after a normalisation change); returns
    how many were indexed. Rows of items that are gone are dropped."""
    done = 0
    last_id = 0
    async with db.session() as session:
        if db.dialect == "sqlite":
            await session.exec(
                sa.text("DELETE FROM item_fts WHERE rowid NOT IN (SELECT id FROM item)")
            )
        await session.commit()
        while True:
            result = await session.exec(
                sa.select(Item).where(Item.id > last_id).order_by(Item.id).limit(batch)
            )
            items = list(result.scalars())
            if not items:
                return done
            await index_items(session, items)
            await session.commit()
            done += len(items)
            last_id = items[-1].id or last_id
            session.expunge_all()


# ---------------------------------------------------------------- reading it


@dataclass(frozen=True)
class _Candidate:
    item_id: int
    relevance: float
    epoch: float  # published_at as Unix seconds (cheap to read back on both backends)
    topic_score: float
    on_topic: bool


async def search(
    db: Database,
    query_text: str,
    *,
    page: int = 1,
    per_page: int = 5,
    now: datetime | None = None,
) -> SearchPage:
    """One page of results for what a user typed; never raises on any input."""
    from storage.orgs import alias_synonyms  # orgs uses this module's hits: import late

    now = now or datetime.now(UTC)
    async with db.session() as session:
        query = parse(query_text, now=now, synonyms=await alias_synonyms(session))
        if not query.searchable:
            return SearchPage(0, [], query.hint)
        source_ids = await _source_ids(session, query.source) if query.source else None
        if source_ids == []:
            return SearchPage(0, [], "unknown_source")
        if query.contradictory:
            return SearchPage(0, [], query.hint)
        candidates, total, partial = await _match(session, query, source_ids)
        ranked = _rank(candidates, now)
        start = max(page - 1, 0) * per_page
        hits = await load_hits(session, ranked[start : start + per_page])
    more = total > COUNT_CAP or (partial and total >= CANDIDATES)
    return SearchPage(min(total, COUNT_CAP), hits, query.hint, more=more)


async def _match(
    session: AsyncSession, query: Query, source_ids: list[int] | None
) -> tuple[list[_Candidate], int, bool]:
    """The newest CANDIDATES matches, how many there are (up to COUNT_CAP + 1), and whether
    that count covers only the newest part of the store (then it is a lower bound).

    PostgreSQL must fetch every match of a GIN search to order them by id, which is slow for
    a common word; the newest matches lie in the newest ids, so an id range is tried first
    and widened by how many matches it held until it holds enough or covers everything: the
    result is exact. SQLite's FTS5 walks matches newest first by itself."""
    dialect = session.bind.dialect.name
    min_id = None
    if query.since and query.groups:
        min_id = await _first_id_since(session, dialect, query.since)
    ranges = _IdRanges(min_id, None)
    if dialect != "sqlite":  # one backend process per query: no parallel workers to start
        await session.exec(sa.text("SET LOCAL max_parallel_workers_per_gather = 0"))
    if dialect != "sqlite" and query.groups:
        newest = (await session.exec(sa.select(sa.func.max(Item.id)))).scalar_one() or 0
        ranges = _IdRanges(min_id, newest)
    while True:
        sql = _Sql(dialect, query, source_ids, ranges.floor)
        params = {**sql.params, "cap": CANDIDATES, "count_cap": COUNT_CAP + 1}
        rows = (await session.exec(sql.candidates(), params=params)).all()
        if len(rows) >= CANDIDATES or ranges.complete:
            break
        ranges.widen(len(rows), CANDIDATES)
    candidates = [_Candidate(r.id, float(r.rel or 0.0), float(r.epoch),
                             float(r.topic_score or 0.0), bool(r.on_topic)) for r in rows]
    total = rows[0].matched if rows else 0
    return candidates, total, not ranges.complete


class _IdRanges:
    """Lower id bounds for PostgreSQL searches, newest items first (see `_match`)."""

    def __init__(self, min_id: int | None, newest: int | None) -> None:
        self.min_id = min_id
        self.newest = newest
        self.size = FIRST_ID_RANGE

    @property
    def complete(self) -> bool:
        """Whether the range covers everything the filters allow."""
        return self.floor == self.min_id

    @property
    def floor(self) -> int | None:
        if self.newest is None:
            return self.min_id
        floor = self.newest - self.size
        if floor <= 0 or (self.min_id is not None and floor <= self.min_id):
            return self.min_id
        return floor

    def widen(self, found: int, wanted: int) -> None:
        """Grow the range to hold about `wanted` matches at the density seen so far."""
        factor = MAX_WIDENING if found == 0 else 1.3 * wanted / found
        self.size = int(self.size * min(max(factor, 2.0), MAX_WIDENING))


async def _source_ids(session: AsyncSession, needle: str) -> list[int]:
    """Sources whose name or URL contains `needle` (compared folded, so Курсив = курсив)."""
    rows = (await session.exec(sa.select(Source.id, Source.name, Source.url))).all()
    return [row.id for row in rows if needle in fold(row.name) or needle in fold(row.url)]


async def _first_id_since(session: AsyncSession, dialect: str, since: datetime) -> int | None:
    """The smallest id of the items published since `since` when there are few of them: no
    matching item has a smaller id, so it bounds the index scan exactly. None when many are
    (the filter is not selective then; the bound would cost more than it saves)."""
    hint = " INDEXED BY ix_item_published_at" if dialect == "sqlite" else ""
    statement = sa.text(
        f"SELECT min(r.id), count(*) FROM (SELECT id FROM item{hint}"
        " WHERE published_at >= :since LIMIT :limit) AS r"
    ).bindparams(sa.bindparam("since", type_=UTCDateTime()))
    first, count = (
        await session.exec(statement, params={"since": since, "limit": SINCE_BOUND_LIMIT})
    ).one()
    return None if count >= SINCE_BOUND_LIMIT else int(first or 0)


_TOPIC_COLUMNS = (
    "(SELECT max(t.score) FROM item_topic t WHERE t.item_id = c.id) AS topic_score, "
    "EXISTS (SELECT 1 FROM item_topic t WHERE t.item_id = c.id AND t.on_topic) AS on_topic"
)
_EPOCH = {
    "sqlite": "(julianday(i.published_at) - 2440587.5) * 86400.0",
    "postgresql": "extract(epoch FROM i.published_at)",
}


class _Sql:
    """The statement of one query: fixed SQL text per backend; user input only as parameters
    (the match expression is one bound string built from letters and digits)."""

    def __init__(self, dialect: str, query: Query, source_ids: list[int] | None,
                 min_id: int | None) -> None:
        self.query = query
        indexed = bool(query.groups)  # language, source and topic are index tags then
        self.source_ids = None if indexed else source_ids
        self.clauses, self.params = _filters(query, self.source_ids, with_tags=not indexed)
        tags = _tags(query, source_ids)
        if not indexed:
            self.id, self.key, self.order = "i.id", "i.published_at", "i.published_at DESC"
            self.rel, self.source = "0.0", "item AS i"
        elif dialect == "sqlite":
            self.id = self.key = "item_fts.rowid"
            self.order, self.source = "item_fts.rowid DESC", "item_fts"
            self.rel = "-bm25(item_fts, 4.0, 1.0, 0.0)"
            self.clauses.insert(0, "item_fts MATCH :match")
            self.params["match"] = fts5_expression(query, tags)
        else:
            self.id = self.key = "s.item_id"
            self.source = "item_search AS s"
            # ranked by the words only: tags sit at the end of the text, and ts_rank would
            # score the distance between them and the words
            self.rel = "ts_rank(s.tsv, to_tsquery('simple', :words))"
            # `+ 0`: never walk the primary key backwards testing every row (the planner's
            # guess for a rare word, which then reads the whole table); collect the GIN
            # matches and sort them instead (the id floors keep that set small)
            self.order = "s.item_id + 0 DESC"
            self.clauses.insert(0, "s.tsv @@ to_tsquery('simple', :match)")
            self.params["match"] = tsquery_expression(query, tags)
            self.params["words"] = tsquery_expression(query)
        if min_id is not None:
            self.clauses.append(f"{self.id} >= :min_id")
            self.params["min_id"] = min_id
        self.epoch = _EPOCH.get(dialect, _EPOCH["postgresql"])
        if indexed and any(clause.startswith("i.") for clause in self.clauses):
            self.source += f" JOIN item AS i ON i.id = {self.id}"  # since: reads the item

    def candidates(self) -> sa.TextClause:
        """The newest :cap of the newest :count_cap matches with what ranking needs, and how
        many matches that was (counting every match of a common word would cost too much).
        Relevance and topic scores are computed for the kept rows only, but bm25() only
        works in the query that holds the MATCH."""
        where = " AND ".join(self.clauses) or "1 = 1"
        bm25 = "bm25" in self.rel
        matches = (
            f"SELECT {self.id} AS id, {self.key} AS k"
            + (f", {self.rel} AS rel" if bm25 else ", s.tsv AS tsv" if "s.tsv" in self.rel else "")
            + f" FROM {self.source} WHERE {where} ORDER BY {self.order} LIMIT :count_cap"
        )
        newest = (f"SELECT m.*, count(*) OVER () AS matched FROM ({matches}) AS m"
                  " ORDER BY m.k DESC LIMIT :cap")
        rel = "c.rel" if bm25 else self.rel.replace("s.tsv", "c.tsv")
        sql = (f"SELECT c.id, {self.epoch} AS epoch, {rel} AS rel, {_TOPIC_COLUMNS}, c.matched"
               f" FROM ({newest}) AS c JOIN item AS i ON i.id = c.id")
        return self._bind(sa.text(sql)).columns(
            sa.column("id", sa.Integer), sa.column("epoch", sa.Float), sa.column("rel", sa.Float),
            sa.column("topic_score", sa.Float), sa.column("on_topic", sa.Boolean),
            sa.column("matched", sa.Integer),
        )

    def _bind(self, statement: sa.TextClause) -> sa.TextClause:
        if self.query.since:
            statement = statement.bindparams(sa.bindparam("since", type_=UTCDateTime()))
        if self.source_ids is not None:
            statement = statement.bindparams(sa.bindparam("source_ids", expanding=True))
        return statement


def _tags(query: Query, source_ids: list[int] | None) -> list[list[str]]:
    """The index tags a query requires: its language, any of its sources, its topic."""
    tags = [[lang_tag(query.lang)]] if query.lang else []
    if source_ids:
        tags.append([source_tag(source_id) for source_id in source_ids])
    if query.topic:
        tags.append([topic_tag(query.topic)])
    return tags


def _filters(
    query: Query, source_ids: list[int] | None, *, with_tags: bool
) -> tuple[list[str], dict[str, object]]:
    """Fixed SQL fragments over `item AS i` for the query's filters, and their parameters
    (`with_tags`: language, source and topic too, when the index does not check them)."""
    clauses: list[str] = []
    params: dict[str, object] = {}
    if query.lang and with_tags:
        clauses.append("i.lang = :lang")
        params["lang"] = query.lang
    if query.since:
        clauses.append("i.published_at >= :since")
        params["since"] = query.since
    if source_ids is not None:
        clauses.append("i.source_id IN :source_ids")
        params["source_ids"] = source_ids
    if query.topic and with_tags:  # the topic's on-topic ids collected once, then probed
        clauses.append(
            "i.id IN (SELECT item_id FROM item_topic WHERE topic_id = :topic AND on_topic)"
        )
        params["topic"] = query.topic
    return clauses, params


def _rank(candidates: list[_Candidate], now: datetime) -> list[int]:
    """Candidate ids best first: relevance + recency + topic score, on-topic first on ties."""
    if not candidates:
        return []
    best = max(c.relevance for c in candidates) or 1.0
    now_epoch = now.timestamp()

    def key(candidate: _Candidate) -> tuple[float, bool, float]:
        age_days = max((now_epoch - candidate.epoch) / 86400, 0.0)
        recency = RECENCY_HALF_LIFE_DAYS / (RECENCY_HALF_LIFE_DAYS + age_days)
        total = (candidate.relevance / best + RECENCY_WEIGHT * recency
                 + TOPIC_WEIGHT * candidate.topic_score)
        return round(total, 6), candidate.on_topic, candidate.epoch

    return [c.item_id for c in sorted(candidates, key=key, reverse=True)]


async def load_hits(session: AsyncSession, item_ids: Sequence[int]) -> list[Hit]:
    """The hits for `item_ids`, in that order (ids of deleted items are skipped)."""
    if not item_ids:
        return []
    rows = (
        await session.exec(
            sa.select(Item.id, Item.title, Item.url, Item.published_at, Source.name)
            .join(Source, Source.id == Item.source_id)
            .where(Item.id.in_(item_ids))
        )
    ).all()
    topic_rows = (
        await session.exec(
            sa.select(ItemTopic.item_id, ItemTopic.topic_id)
            .where(ItemTopic.item_id.in_(item_ids), ItemTopic.on_topic)
            .order_by(ItemTopic.item_id, ItemTopic.score.desc())
        )
    ).all()
    topics: dict[int, list[str]] = {}
    for item_id, topic_id in topic_rows:
        topics.setdefault(item_id, []).append(topic_id)
    by_id = {
        row.id: Hit(row.id, row.title, row.url, row.name, row.published_at,
                    tuple(topics.get(row.id, ())))
        for row in rows
    }
    return [by_id[item_id] for item_id in item_ids if item_id in by_id]
