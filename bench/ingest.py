"""Ingest benchmark: N local outlets x M items served on 127.0.0.1.

Prints the items/s of a full first pass (fetch + parse + normalise + classify + store), the
wall time of a second pass where every outlet answers 304, and the peak RSS.
The outlets run in a separate process so that serving does not eat the poller's CPU.

    python bench/ingest.py [--outlets 200] [--items 50] [--database-url URL] [--no-ner]
                           [--workers 0]

By default feeds are parsed in the event loop's thread pool, as `newsbot run` and
`newsbot fetch --once` do: that is the configuration the targets are for. `--workers N`
parses in N worker processes instead (`Poller(parse_executor=...)`, which the product does
not use), for comparison. Untimed before the clock starts: the classifier, the word lists
of every language (each process loads them once, on its first feed) and the pool's workers;
`settle_startup_heap()` is called after loading the classifier, as the product does after
its start-up. The CPU time printed is less sensitive to other load than the wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from outlets import OutletServer, rss  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlmodel import select  # noqa: E402

from feeds import Fetcher, FetchLimits, Poller, settle_startup_heap  # noqa: E402
from feeds.poll import parse_items  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import ItemTopic, Source  # noqa: E402
from topics import load_classifier  # noqa: E402

# Mostly ordinary news with some on-topic items, as in a general outlet's feed.
TITLES = {
    "ru": [
        "В {place} запустили солнечную электростанцию мощностью {n} МВт",
        "Министры стран ШОС обсудили в {place} транспортные коридоры",
        "Акимат {place} утвердил план по снижению выбросов на {n} процентов",
        "В {place} открыли новую школу на {n} мест",
        "Цены на продукты в {place} выросли на {n} процента",
        "Сборная {place} по хоккею выиграла со счётом {n}:2",
        "В {place} ограничат движение по проспекту из-за ремонта",
        "Полиция {place} задержала подозреваемых в мошенничестве на {n} млн тенге",
        "В {place} прошёл фестиваль уличной еды, его посетили {n} человек",
        "Синоптики обещают в {place} до {n} градусов мороза",
        "В {place} построят жилой комплекс на {n} квартир",
        "Аким {place} провёл приём граждан по вопросам ЖКХ",
        "В {place} открылся новый торговый центр площадью {n} тысяч кв. м",
        "Театр {place} покажет премьеру спектакля в декабре",
    ],
    "kk": [
        "{place} облысында күн электр станциясы іске қосылды, қуаты {n} МВт",
        "{place} қаласында {n} орындық жаңа мектеп ашылды",
        "{place} қаласында көше жөндеуге байланысты қозғалыс шектеледі",
        "{place} облысында {n} пәтерлі тұрғын үй салынады",
        "Синоптиктер {place} қаласында аяз болатынын ескертті",
    ],
    "en": [
        "Kazakhstan opens a {n} MW wind farm near {place}",
        "{place} marathon draws {n} runners",
        "New shopping mall with {n} stores opens in {place}",
        "{place} airport adds {n} weekly flights",
        "Tech park in {place} hosts a startup forum",
    ],
}
PLACES = ["Астана", "Алматы", "Шымкент", "Караганда", "Актобе", "Павлодар", "Туркестан",
          "Атырау", "Костанай", "Тараз", "Кызылорда", "Уральск", "Семей", "Жезказган"]
LEAD = ("Об этом сообщила пресс-служба ведомства. Проект реализуется в рамках государственной "
        "программы, его стоимость составляет {n} млрд тенге. Эксперты отмечают, что работы "
        "завершатся до конца {year} года.")


LANGS = ("ru", "ru", "ru", "kk", "en")  # outlet n writes in LANGS[n % 5]


def lang_of(outlet: int) -> str:
    return LANGS[outlet % len(LANGS)]


def feed(outlet: int, items: int) -> bytes:
    rng = random.Random(outlet)
    lang = lang_of(outlet)
    entries = []
    for number in range(items):
        title = rng.choice(TITLES[lang]).format(place=rng.choice(PLACES), n=rng.randint(2, 900))
        lead = LEAD.format(n=rng.randint(1, 300), year=rng.randint(2026, 2030))
        entries.append(
            f"<item><title>{title}</title>"
            f"<link>http://outlet{outlet}.test/news/{number}?utm_source=rss</link>"
            f"<guid>o{outlet}-{number}</guid>"
            f"<pubDate>Wed, 25 Nov 2026 {number % 24:02d}:{outlet % 60:02d}:00 +0500</pubDate>"
            f"<description>&lt;p&gt;{lead}&lt;/p&gt;</description></item>".encode()
        )
    return rss(entries, f"Outlet {outlet}")


def serve(outlets: int, items: int, ready: multiprocessing.connection.Connection) -> None:
    """The outlets' process: serve every feed until killed."""

    async def run() -> None:
        server = await OutletServer().start()
        for outlet in range(outlets):
            server.serve(f"/o{outlet}/rss.xml", body=feed(outlet, items))
        ready.send(server.port)
        await asyncio.Event().wait()

    asyncio.run(run())


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def warm_up(pool: Executor | None, workers: int) -> None:
    """Load the word lists of every language (once per process, in the product too) and
    start every parse worker before the clock starts."""
    jobs = [(feed(outlet, 5), lang_of(outlet)) for outlet in range(len(LANGS))]
    if pool is None:
        for body, lang in jobs:
            parse_items(body, None, "http://warm.test/", lang, datetime.now(UTC))
        return
    futures = [pool.submit(parse_items, body, None, "http://warm.test/", lang,
                           datetime.now(UTC))
               for _ in range(workers) for body, lang in jobs]
    for future in futures:
        future.result()


async def bench(args: argparse.Namespace, url: str, port: int, pool: Executor | None) -> None:
    db = Database(url)
    await db.upgrade()
    async with db.session() as session:
        for outlet in range(args.outlets):
            session.add(Source(name=f"Outlet {outlet}",
                               url=f"http://127.0.0.1:{port}/o{outlet}/rss.xml",
                               lang=lang_of(outlet)))
        await session.commit()
    classifier = load_classifier(ROOT / "seeds", ner=not args.no_ner)
    settle_startup_heap()  # where `newsbot run` and `newsbot fetch --once` do it
    classifier.classify("Прогрев", "Казахстан и ШОС: зелёная энергетика", "ru")
    # every outlet is 127.0.0.1 here: the per-host limit (politeness towards one real site)
    # would serialise them all, so it is raised to the global limit
    limits = FetchLimits()
    async with Fetcher(replace(limits, per_host=limits.max_connections)) as fetcher:
        poller = Poller(db, fetcher, lambda: classifier, parse_executor=pool)
        started, cpu = time.perf_counter(), time.process_time()
        first = await poller.poll_all()
        first_wall, first_cpu = time.perf_counter() - started, time.process_time() - cpu
        started = time.perf_counter()
        second = await poller.poll_all()
        second_wall = time.perf_counter() - started
    async with db.session() as session:
        on_topic = (await session.exec(
            select(func.count(func.distinct(ItemTopic.item_id))).where(ItemTopic.on_topic)
        )).one()
    await db.dispose()
    print(f"store: {db.dialect}; outlets: {args.outlets} x {args.items} items; "
          f"NER: {'off' if args.no_ner else 'on'}; parse workers: {args.workers or 'threads'}")
    print(f"first pass: {first.new} new items ({first.failed} outlets failed) in "
          f"{first_wall:.2f} s = {first.new / first_wall:,.0f} items/s; "
          f"{on_topic / max(first.new, 1):.0%} on topic")
    print(f"  CPU time of this process (all threads) in the first pass: {first_cpu:.2f} s")
    print(f"second pass (all 304): {second.not_modified}/{args.outlets} unchanged, "
          f"{second.new} new, in {second_wall:.2f} s")
    errors = Counter(o.error for o in first.outcomes + second.outcomes if o.error)
    for error, times in errors.most_common(3):
        print(f"  {times} x {error}")
    print(f"peak RSS: {peak_rss_mib():.0f} MiB (this process"
          f"{'; each parse worker adds its own' if pool else ''})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outlets", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--database-url",
                        help="an empty database (create it first for PostgreSQL, e.g. "
                             "postgresql+asyncpg://postgres@127.0.0.1:5432/newsbot_bench); "
                             "default: SQLite in a temporary folder")
    parser.add_argument("--workers", type=int, default=0,
                        help="parse in this many processes (default 0: threads, as the product)")
    parser.add_argument("--no-ner", action="store_true",
                        help="classify without the NER model (gazetteer organisations only)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.get_context("spawn").Process(
        target=serve, args=(args.outlets, args.items, send), daemon=True)
    server.start()
    try:
        with contextlib.ExitStack() as stack:
            pool = None
            if args.workers:
                pool = stack.enter_context(ProcessPoolExecutor(
                    args.workers, mp_context=multiprocessing.get_context("spawn")))
            warm_up(pool, args.workers)
            url = args.database_url
            if url is None:
                folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="newsbot-"))
                url = f"sqlite+aiosqlite:///{folder}/bench.db"
            port = receive.recv()
            asyncio.run(bench(args, url, port, pool))
    finally:
        server.terminate()
        server.join()


if __name__ == "__main__":
    main()
