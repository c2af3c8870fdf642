"""Search benchmark: a synthetic store of N items, then Q mixed queries through `search()`.

Items are Russian (60 %), Kazakh (25 %) and English (15 %) titles and leads drawn from word
frequency lists (wordfreq for ru/en, inflected Kazakh stems), spread over 3 years, with topic
scores and organisation mentions. Rows are bulk-loaded (executemany on SQLite, COPY on
PostgreSQL), then indexed with the product's own normalisation (storage.search.index_text).
Queries mix single words, pairs, phrases, filters, organisation names, exclusions and later
pages, and run through the real async search path.

Prints build time (rows, index), index size on disk, and p50/p95/p99 query latency.

    python bench/search.py [--backend sqlite|postgres|both] [--items 1000000] [--queries 1000]
                           [--postgres-dsn postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import wordfreq  # noqa: E402

from storage.db import Database, upgrade  # noqa: E402
from storage.orgs import sync_gazetteer  # noqa: E402
from storage.search import index_row, search  # noqa: E402
from topics import load_gazetteer  # noqa: E402

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SPAN = timedelta(days=3 * 365)
CHUNK = 20_000
OUTLETS = [("Kursiv", "kursiv.media"), ("Tengrinews", "tengrinews.kz"), ("Egemen", "egemen.kz"),
           ("Astana Times", "astanatimes.com"), ("Inform.kz", "inform.kz"), ("KazTAG", "kaztag.kz"),
           ("Zakon.kz", "zakon.kz"), ("Forbes Kazakhstan", "forbes.kz"), ("LS", "lsm.kz"),
           ("Capital", "kapital.kz"), ("Vlast", "vlast.kz"), ("Orda", "orda.kz")]
KK_STEMS = """жасыл экономика энергия даму жоба қазақстан ел үкімет министр су жер көмір мұнай газ
жел күн электр станция қуат өндіріс инвестиция саммит ынтымақтастық ұйым президент астана алматы
облыс аудан халық бағдарлама заң жыл ай апта кездесу келісім сауда қытай ресей өзбекстан шекара
көлік құрылыс зауыт қоршаған орта экология климат шығарынды көміртек тұрақты жаңартылатын көз
технология цифрлық білім ғылым денсаулық ауыл шаруашылық егін өзен көл арал теңіз каспий банк
қаржы бюджет салық баға тариф нарық экспорт импорт жаңа үлкен маңызды мемлекет халықаралық форум
конференция делегация сапар хатшы кеңес комитет әкім әкімдік тәуелсіздік жұмыс орын жастар
мектеп университет спорт мәдениет тарих қала көше үй""".split()
KK_ENDINGS = ["", "", "", "ның", "дың", "да", "ға", "ды", "лар", "лары", "ларының", "ы", "сы",
              "ын", "мен", "дағы", "тың"]


class Vocabulary:
    """Words of one language with their frequencies, sampled by frequency (Zipf-like)."""

    def __init__(self, words: list[str], weights: list[float]) -> None:
        self.words = words
        self.cumulative = list(itertools.accumulate(weights))

    def sample(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cumulative, k=k)

    def query_word(self, rng: random.Random) -> str:
        """What someone searches for: a content word, skewed to the frequent ones."""
        rank = int(len(self.words) ** rng.random())  # log-uniform over ranks
        return self.words[min(max(rank, 60), len(self.words) - 1)]


def vocabularies() -> dict[str, Vocabulary]:
    vocab = {}
    for lang, size in (("ru", 30_000), ("en", 20_000)):
        words = [w for w in wordfreq.top_n_list(lang, size) if w.isalpha()]
        vocab[lang] = Vocabulary(words, [wordfreq.word_frequency(w, lang) for w in words])
    kk = [stem + ending for stem in KK_STEMS for ending in KK_ENDINGS]
    vocab["kk"] = Vocabulary(kk, [1.0 / (1 + i // len(KK_ENDINGS)) for i in range(len(kk))])
    return vocab


@dataclass
class Row:
    id: int
    source_id: int
    title: str
    text: str
    lang: str
    published_at: datetime
    green: float
    sco: float
    orgs: list[int]


def generate(n: int, vocab: dict[str, Vocabulary], org_count: int, seed: int = 7
             ) -> Iterator[list[Row]]:
    """Deterministic chunks of items, oldest first (ids follow publication as in ingest)."""
    rng = random.Random(seed)
    step = SPAN / n
    start = NOW - SPAN
    chunk: list[Row] = []
    for i in range(1, n + 1):
        lang = rng.choices(("ru", "kk", "en"), weights=(60, 25, 15))[0]
        words = vocab[lang].sample(rng, rng.randint(6, 12) + rng.randint(18, 40))
        cut = rng.randint(6, 12)
        title = " ".join(words[:cut]).capitalize()
        text = " ".join(words[cut:]) + "."
        green, sco = rng.betavariate(1.2, 4), rng.betavariate(1, 6)
        mentions = rng.choice((1, 1, 2)) if rng.random() < 0.08 else 0
        orgs = rng.sample(range(1, org_count + 1), mentions)
        chunk.append(Row(i, rng.randint(1, len(OUTLETS)), title, text, lang,
                         start + step * i + timedelta(seconds=rng.randint(0, 600)),
                         green, sco, orgs))
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def make_queries(count: int, vocab: dict[str, Vocabulary], aliases: list[str],
                 titles: list[str], seed: int = 11) -> list[tuple[str, str, int]]:
    """(kind, query text, page) tuples of mixed kinds."""
    rng = random.Random(seed)

    def word() -> str:
        return vocab[rng.choices(("ru", "kk", "en"), weights=(60, 25, 15))[0]].query_word(rng)

    kinds = {
        "word": lambda: word(),
        "two words": lambda: f"{word()} {word()}",
        "phrase": lambda: '"{}"'.format(" ".join(_bigram(rng, rng.choice(titles)))),
        "filter": lambda: f"{word()} " + rng.choice(
            ("topic:green", "topic:sco", "lang:kk", "lang:en", "since:30d", "since:2026-01-01",
             f"source:{rng.choice(OUTLETS)[1].split('.')[0]}")),
        "org": lambda: rng.choice(aliases),
        "exclude": lambda: f"{word()} -{word()}",
        "page 2-3": lambda: word(),
    }
    weights = {"word": 25, "two words": 15, "phrase": 10, "filter": 15, "org": 15,
               "exclude": 10, "page 2-3": 10}
    out = []
    for _ in range(count):
        kind = rng.choices(list(weights), weights=list(weights.values()))[0]
        out.append((kind, kinds[kind](), rng.randint(2, 3) if kind == "page 2-3" else 1))
    return out


def _bigram(rng: random.Random, title: str) -> list[str]:
    words = title.split()
    start = rng.randrange(0, max(len(words) - 1, 1))
    return words[start : start + 2]


# ---------------------------------------------------------------- loading


def _sqlite_ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _item_tuple(row: Row) -> tuple:
    key = f"bench:{row.id}"
    return (row.id, row.source_id, key, f"https://{OUTLETS[row.source_id - 1][1]}/{row.id}",
            f"https://{OUTLETS[row.source_id - 1][1]}/{row.id}", row.title, row.text, row.lang,
            row.published_at, row.published_at, key, "", row.id)


ITEM_COLUMNS = ("id", "source_id", "guid_key", "url_key", "url", "title", "text", "lang",
                "published_at", "fetched_at", "content_hash", "near_key", "cluster_id")


def _index_row(row: Row) -> dict[str, object]:
    topics = [topic for topic, _, on_topic, _ in (t[1:] for t in _topic_tuples(row)) if on_topic]
    return index_row(row.id, row.title, row.text, row.lang, row.source_id, topics)


def _topic_tuples(row: Row) -> list[tuple]:
    return [(row.id, "green", row.green, row.green >= 0.5, "[]"),
            (row.id, "sco", row.sco, row.sco >= 0.5, "[]")]


def gazetteer_names() -> list[str]:
    """The organisations' names as users type them (the organisation queries)."""
    entries = load_gazetteer(ROOT / "seeds").entries
    return [name for entry in entries for name in [*entry.names.values(), *entry.aliases]]


async def prepare_orgs(db: Database) -> int:
    """The gazetteer in the store; returns how many organisations it holds."""
    entries = load_gazetteer(ROOT / "seeds").entries
    async with db.session() as session:
        await sync_gazetteer(session, entries)
        await session.commit()
    return len(entries)


async def reused_postgres(args: argparse.Namespace, dsn: str, url: str) -> dict[str, float] | None:
    """`--reuse`: the store a previous run built, brought to the current schema (migrations
    run on it), when it holds the wanted number of items; None means build it afresh."""
    try:
        con = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        if await con.fetchval("SELECT count(*) FROM item") != args.items:
            return None
    except asyncpg.UndefinedTableError:  # an earlier build stopped before its tables
        return None
    finally:
        await con.close()
    started = time.perf_counter()
    await upgrade(url)
    con = await asyncpg.connect(dsn)
    try:
        await con.execute("VACUUM ANALYZE")
        return {"rows_s": 0.0, "index_s": time.perf_counter() - started,
                "index_bytes": await con.fetchval("SELECT pg_total_relation_size('item_search')"),
                "gin_bytes": await con.fetchval("SELECT pg_relation_size('ix_item_search_tsv')"),
                "db_bytes": await con.fetchval("SELECT pg_database_size(current_database())")}
    finally:
        await con.close()


def load_sqlite(path: Path, n: int, vocab: dict[str, Vocabulary], org_count: int
                ) -> dict[str, float]:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.executemany("INSERT INTO source (id, name, url, lang, poll_interval, enabled, confidence,"
                    " error_count, total_errors, items_total, created_at)"
                    " VALUES (?, ?, ?, 'ru', 900, 1, 'high', 0, 0, 0, ?)",
                    [(i + 1, name, f"https://{host}/rss", _sqlite_ts(NOW))
                     for i, (name, host) in enumerate(OUTLETS)])
    marks = ",".join("?" * len(ITEM_COLUMNS))
    started = time.perf_counter()
    for chunk in generate(n, vocab, org_count):
        con.executemany(f"INSERT INTO item ({','.join(ITEM_COLUMNS)}) VALUES ({marks})",
                        [_item_tuple(r)[:8] + (_sqlite_ts(r.published_at),) * 2
                         + _item_tuple(r)[10:] for r in chunk])
        con.executemany("INSERT INTO item_topic VALUES (?, ?, ?, ?, ?)",
                        [t for r in chunk for t in _topic_tuples(r)])
        con.executemany("INSERT INTO item_org (item_id, org_id, mentions) VALUES (?, ?, 1)",
                        [(r.id, o) for r in chunk for o in r.orgs])
        con.commit()
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rows_s = time.perf_counter() - started
    before = path.stat().st_size
    started = time.perf_counter()
    for chunk in generate(n, vocab, org_count):
        con.executemany("INSERT INTO item_fts (rowid, title, body, tags)"
                        " VALUES (:id, :title, :body, :tags)", [_index_row(r) for r in chunk])
        con.commit()
    con.execute("INSERT INTO item_fts (item_fts) VALUES ('optimize')")
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    index_s = time.perf_counter() - started
    con.close()
    size = path.stat().st_size
    return {"rows_s": rows_s, "index_s": index_s, "index_bytes": size - before,
            "db_bytes": size}


async def load_postgres(dsn: str, n: int, vocab: dict[str, Vocabulary], org_count: int
                        ) -> dict[str, float]:
    con = await asyncpg.connect(dsn)
    try:
        await con.copy_records_to_table("source", records=[
            (i + 1, name, f"https://{host}/rss", "ru", 900, True, "high", 0, 0, 0, NOW)
            for i, (name, host) in enumerate(OUTLETS)],
            columns=["id", "name", "url", "lang", "poll_interval", "enabled", "confidence",
                     "error_count", "total_errors", "items_total", "created_at"])
        started = time.perf_counter()
        for chunk in generate(n, vocab, org_count):
            await con.copy_records_to_table("item", records=[_item_tuple(r) for r in chunk],
                                            columns=list(ITEM_COLUMNS))
            await con.copy_records_to_table(
                "item_topic", records=[t[:4] + ("[]",) for r in chunk for t in _topic_tuples(r)],
                columns=["item_id", "topic_id", "score", "on_topic", "why"])
            await con.copy_records_to_table(
                "item_org", records=[(r.id, o, 1) for r in chunk for o in r.orgs],
                columns=["item_id", "org_id", "mentions"])
        await con.execute("SELECT setval('item_id_seq', $1)", n)
        await con.execute("ANALYZE")
        rows_s = time.perf_counter() - started
        started = time.perf_counter()
        await con.execute("DROP INDEX IF EXISTS ix_item_search_tsv")
        await con.execute(
            "CREATE UNLOGGED TABLE search_stage (id int, title text, body text, tags text)")
        for chunk in generate(n, vocab, org_count):
            await con.copy_records_to_table("search_stage", records=[
                tuple(_index_row(r).values()) for r in chunk])
        await con.execute(  # the expression of storage.search's upsert, set-wise
            "INSERT INTO item_search (item_id, tsv) SELECT id, setweight(to_tsvector('simple',"
            " title), 'A') || setweight(to_tsvector('simple', body), 'B')"
            " || setweight(to_tsvector('simple', tags), 'D') FROM search_stage")
        await con.execute("DROP TABLE search_stage")
        await con.execute("SET maintenance_work_mem = '512MB'")
        await con.execute("CREATE INDEX ix_item_search_tsv ON item_search USING GIN (tsv)")
        await con.execute("VACUUM ANALYZE")  # as autovacuum would have done by now
        index_s = time.perf_counter() - started
        index_bytes = await con.fetchval("SELECT pg_total_relation_size('item_search')")
        gin_bytes = await con.fetchval("SELECT pg_relation_size('ix_item_search_tsv')")
        db_bytes = await con.fetchval("SELECT pg_database_size(current_database())")
    finally:
        await con.close()
    return {"rows_s": rows_s, "index_s": index_s, "index_bytes": index_bytes,
            "gin_bytes": gin_bytes, "db_bytes": db_bytes}


# ---------------------------------------------------------------- running


async def run_queries(db: Database, queries: list[tuple[str, str, int]]) -> dict[str, list[float]]:
    for _, text, page in queries[:20]:  # warm the caches (pymorphy, aliases, pages)
        await search(db, text, page=page, now=NOW)
    timings: dict[str, list[float]] = {}
    for kind, text, page in queries:
        started = time.perf_counter()
        await search(db, text, page=page, now=NOW)
        timings.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
    return timings


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def report(backend: str, n: int, build: dict[str, float], timings: dict[str, list[float]]) -> None:
    every = [t for values in timings.values() for t in values]
    mib = 1024 * 1024
    print(f"\n== {backend}: {n:,} items, {len(every)} queries")
    if build["rows_s"]:
        print(f"build: rows {build['rows_s']:.1f} s, index {build['index_s']:.1f} s "
              f"(normalise + insert{' + GIN' if 'gin_bytes' in build else ' + optimize'})")
    else:
        print(f"reused the store of an earlier run; migrations + VACUUM {build['index_s']:.1f} s")
    sizes = f"index on disk {build['index_bytes'] / mib:,.0f} MiB"
    if "gin_bytes" in build:
        sizes += f" (GIN {build['gin_bytes'] / mib:,.0f} MiB)"
    print(f"{sizes}; whole database {build['db_bytes'] / mib:,.0f} MiB")
    print(f"latency ms: p50 {percentile(every, 50):.1f}  p95 {percentile(every, 95):.1f}  "
          f"p99 {percentile(every, 99):.1f}  max {max(every):.1f}")
    for kind, values in timings.items():
        print(f"  {kind:<10} n={len(values):>4}  p50 {percentile(values, 50):6.1f}  "
              f"p95 {percentile(values, 95):6.1f}")


async def bench(backend: str, args: argparse.Namespace, vocab: dict[str, Vocabulary]) -> None:
    titles = [row.title for row in next(generate(2000, vocab, 2, seed=3))]
    if backend == "sqlite":
        path = Path(args.workdir) / f"search_bench_{args.items}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240 - set-up
        url = f"sqlite+aiosqlite:///{path}"
        await upgrade(url)
        db = Database(url)
        orgs = await prepare_orgs(db)
        await db.dispose()
        build = await asyncio.to_thread(load_sqlite, path, args.items, vocab, orgs)
    else:
        name = f"newsbot_search_bench_{args.items}"
        dsn = f"{args.postgres_dsn.rsplit('/', 1)[0]}/{name}"
        url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
        build = await reused_postgres(args, dsn, url) if args.reuse else None
        if build is None:
            admin = await asyncpg.connect(args.postgres_dsn)
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            await admin.execute(f"CREATE DATABASE {name}")
            await admin.close()
            await upgrade(url)
            db = Database(url)
            orgs = await prepare_orgs(db)
            await db.dispose()
            build = await load_postgres(dsn, args.items, vocab, orgs)
    db = Database(url)
    try:
        queries = make_queries(args.queries, vocab, gazetteer_names(), titles)
        timings = await run_queries(db, queries)
    finally:
        await db.dispose()
    report(backend, args.items, build, timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--reuse", action="store_true",
                        help="PostgreSQL: keep the store of a previous run with as many items "
                             "(migrated to the current schema) instead of building it again")
    parser.add_argument("--workdir", default=str(ROOT / "data" / "bench"))
    parser.add_argument("--postgres-dsn", default=os.environ.get(
        "NEWSBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    vocab = vocabularies()
    for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
        asyncio.run(bench(backend, args, vocab))


if __name__ == "__main__":
    main()
