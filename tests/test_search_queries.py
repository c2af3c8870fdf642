"""Whatever a user types is safe: hostile and random queries go through the real search path
on both backends and come back as a page (maybe with a hint), never as an error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_search_index import NOW, add_items

from storage.db import Database
from storage.query import fts5_expression, parse, tsquery_expression
from storage.search import search

HOSTILE = [
    "ШОС AND (", '"зелён', "C++", "*", "-", "", "   ", "😀🌿🔥", "энергия 😀",
    "x" * 5000, "энергия " * 700, "NEAR(a b)", "a OR", "NOT", "^энергия", "col:энергия",
    "'; DROP TABLE item; --", "\" OR 1=1 --", "энергия:*", "!энергия & |", "(((", ")))",
    "topic:", "since:", "since:99999d", "since:3000y", "since:99999999999999999999m",
    "lang:xx", "source:%", "source:_", "-\"\"", '""',
    "\x00", "энергия\x00уголь", "ё", "-энергия", "-энергия -уголь", "title:энергия", "e'x",
    "a-b-c-d-e-f-g", "1e5 0x1f", "SCO's", "ШОС-тың", "@#$%^&*()_+=[]{}|\\;:,.<>/?~`",
]
FRAGMENTS = st.sampled_from(
    ["ШОС", "SCO", "AND", "OR", "NOT", "NEAR", "(", ")", '"', "'", "-", "*", ":", "^", "+",
     "topic:", "since:7d", "lang:", "source:", "энергия", "ё", "😀", "\\", "%", "_", "::*"]
)
QUERIES = st.lists(st.one_of(st.text(max_size=30), FRAGMENTS), max_size=12).map("".join)


@pytest.fixture
async def store(db: Database) -> Database:
    await add_items(db, {"title": "Зелёная энергия и ШОС", "topics": {"green": 0.9}},
                    {"title": "Энергия ветра", "text": "уголь"})
    return db


@pytest.mark.parametrize("text", HOSTILE)
async def test_hostile_queries_answer_with_a_page(store: Database, text: str) -> None:
    page = await search(store, text, now=NOW)
    assert page.total >= 0 and len(page.hits) <= 5


async def test_malformed_queries_read_as_plain_words_or_a_hint(store: Database) -> None:
    assert (await search(store, "энергия AND (", now=NOW)).total == 2
    assert (await search(store, '"зелён', now=NOW)).total == 1
    assert (await search(store, "", now=NOW)).query_hint == "empty"
    assert (await search(store, "* -", now=NOW)).query_hint == "empty"
    assert (await search(store, "-энергия", now=NOW)).query_hint == "only_excluded"
    page = await search(store, "энергия " * 700, now=NOW)
    assert (page.total, page.query_hint) == (2, "too_long")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=QUERIES)
async def test_random_queries_never_fail(store: Database, text: str) -> None:
    page = await search(store, text, now=NOW)
    assert page.total >= len(page.hits)


@given(text=QUERIES)
def test_match_expressions_hold_only_quoted_words(text: str) -> None:
    query = parse(text, now=datetime(2026, 11, 25, tzinfo=UTC))
    if not query.groups:
        return
    for term in (t for g in query.groups + query.excluded for p in g for t in p):
        assert term.isalnum(), term
    assert fts5_expression(query).count('"') % 2 == 0
    assert tsquery_expression(query).count("'") % 2 == 0


@pytest.mark.parametrize(("text", "contradictory"), [
    ("ветер -ветер", True),
    ('"зелёная экономика" -экономики', True),  # every match holds the excluded word
    ('"зелёная экономика" -"зелёная экономика"', True),
    ("ветер -уголь", False),
    ('ветер -"ветер уголь"', False),  # a match need not hold the whole excluded phrase
    ('"зелёная экономика" -"экономика зелёная"', False),
])
def test_queries_that_exclude_what_they_require_match_nothing(text: str,
                                                              contradictory: bool) -> None:
    assert parse(text).contradictory is contradictory


async def test_a_contradictory_query_answers_without_searching(store: Database,
                                                               monkeypatch) -> None:
    import storage.search

    async def no_search(*args: object) -> None:
        raise AssertionError("a query that excludes what it requires was sent")

    monkeypatch.setattr(storage.search, "_match", no_search)
    page = await search(store, "энергия -энергии", now=NOW)
    assert (page.total, page.hits) == (0, [])
    page = await search(store, "энергия -энергии source:nowhere", now=NOW)
    assert page.query_hint == "unknown_source"
