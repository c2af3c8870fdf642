"""Canonical organisations, their aliases in every language, and the queries behind /org.

One organisation is one row (ШОС = SCO = ШЫҰ); every spelling is an `org_alias` row, stored
normalised (`normalise_alias`). A merged organisation keeps its row with `merged_into` set and
gives its aliases and mentions to the target, so every lookup lands on the target.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from rapidfuzz import fuzz, process
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import Item, ItemOrg, ItemTopic, OrgAlias, Organization
from storage.query import index_terms
from storage.search import SearchPage, load_hits
from storage.text import fold

log = logging.getLogger(__name__)

Synonyms = dict[tuple[str, ...], list[tuple[str, ...]]]
_synonyms: dict[str, tuple[float, Synonyms]] = {}  # database URL -> (loaded at, synonyms)

FUZZY_CUTOFF = 80.0
AMBIGUITY_MARGIN = 5.0  # fuzzy matches this close to the best one are offered as a choice
MIN_FUZZY_CHARS = 4  # shorter names (acronyms) must match an alias exactly
MAX_MATCHES = 8
MAX_MERGE_DEPTH = 16
SYNONYMS_TTL = 60.0
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,39}$")


class GazetteerEntryLike(Protocol):
    """What `topics.GazetteerEntry` offers (storage does not import topics)."""

    key: str
    names: Mapping[str, str]
    aliases: Sequence[str]


@dataclass(frozen=True)
class OrgMatch:
    """A canonical organisation, with how well it matched a name (0..100)."""

    org_id: int
    key: str
    name: str
    names: dict[str, str] = field(default_factory=dict)
    score: float = 100.0

    def label(self, lang: str) -> str:
        return self.names.get(lang) or self.name


@dataclass(frozen=True)
class OrgCount:
    org: OrgMatch
    count: int


class OrgError(Exception):
    """A refused admin change; `code` names the text the bot shows (`org.error.<code>`)."""

    def __init__(self, code: str, **details: object) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


def normalise_alias(text: str) -> str:
    """An alias as stored: lower-case, ё→е, whitespace folded, surrounding quotes dropped."""
    return " ".join(fold(text).split()).strip("\"'«»“”„ ")


def _match(org: Organization, score: float = 100.0) -> OrgMatch:
    return OrgMatch(org.id or 0, org.key, org.name, dict(org.names or {}), score)


# ---------------------------------------------------------------- ingest side


async def sync_gazetteer(session: AsyncSession, entries: Iterable[GazetteerEntryLike]) -> int:
    """Upsert organisations and their aliases from the gazetteer (idempotent; flushes, the
    caller commits). Names admins changed are kept; returns how many organisations were new."""
    entries = list(entries)
    orgs = {
        org.key: org
        for org in (await session.exec(sa.select(Organization))).scalars()
    }
    added = 0
    for entry in entries:
        names = {lang: name for lang, name in entry.names.items() if name}
        org = orgs.get(entry.key)
        if org is None:
            display = names.get("ru") or next(iter(names.values()), entry.key)
            org = Organization(key=entry.key, name=display, names=names)
            session.add(org)
            orgs[entry.key] = org
            added += 1
        elif any(lang not in org.names for lang in names):
            org.names = {**names, **org.names}
    await session.flush()
    known = set((await session.exec(sa.select(OrgAlias.alias))).scalars())
    for entry in entries:
        org = orgs[entry.key]
        spellings = [*((name, lang) for lang, name in entry.names.items()),
                     *((alias, None) for alias in entry.aliases), (entry.key, None)]
        for spelling, lang in spellings:
            alias = normalise_alias(spelling)
            if alias and alias not in known:
                session.add(OrgAlias(alias=alias, org_id=org.id, lang=lang))
                known.add(alias)
    await session.flush()
    _forget_synonyms()
    return added


async def org_ids(session: AsyncSession, keys: Iterable[str],
                  names: Mapping[str, str] | None = None) -> dict[str, int]:
    """Canonical ids for organisation keys; unknown keys become new organisations, named as
    the text wrote them (`names`: key -> display name; else the key); merged ones give
    their target's id."""
    wanted = set(keys)
    if not wanted:
        return {}
    found = await _orgs_by_key(session, wanted)
    for key in sorted(wanted - found.keys()):
        await _create_org(session, key, (names or {}).get(key) or key)
    found = await _orgs_by_key(session, wanted)
    return {key: await _canonical_id(session, org) for key, org in found.items()}


async def _create_org(session: AsyncSession, key: str, name: str) -> None:
    """A new organisation, unless a concurrent transaction made it first.

    On PostgreSQL a savepoint absorbs that race; SQLite serialises writers, and its driver's
    savepoints would end the caller's transaction, so none is taken there."""

    async def create() -> None:
        org = Organization(key=key, name=name, names={})
        session.add(org)
        await session.flush()
        for alias in dict.fromkeys((normalise_alias(key), normalise_alias(name))):
            if alias and await session.get(OrgAlias, alias) is None:
                session.add(OrgAlias(alias=alias, org_id=org.id))
                await session.flush()
        _forget_synonyms()

    if session.bind.dialect.name == "sqlite":
        await create()
        return
    try:
        async with session.begin_nested():
            await create()
    except IntegrityError:
        log.debug("organisation %r was created concurrently", key)


async def _orgs_by_key(session: AsyncSession, keys: set[str]) -> dict[str, Organization]:
    rows = await session.exec(sa.select(Organization).where(Organization.key.in_(keys)))
    return {org.key: org for org in rows.scalars()}


async def _canonical_id(session: AsyncSession, org: Organization) -> int:
    """The id `org` resolves to, following `merged_into`."""
    current = org
    for _ in range(MAX_MERGE_DEPTH):
        if current.merged_into is None:
            break
        target = await session.get(Organization, current.merged_into)
        if target is None:
            break
        current = target
    return current.id or 0


async def _all_orgs(session: AsyncSession) -> dict[int, Organization]:
    return {org.id or 0: org for org in (await session.exec(sa.select(Organization))).scalars()}


def _canonical(orgs: Mapping[int, Organization], org_id: int) -> Organization | None:
    """`org_id`'s organisation after following merges, from an id -> row map."""
    org = orgs.get(org_id)
    for _ in range(MAX_MERGE_DEPTH):
        if org is None or org.merged_into is None or org.merged_into not in orgs:
            break
        org = orgs[org.merged_into]
    return org


# ---------------------------------------------------------------- reading


async def alias_synonyms(session: AsyncSession) -> Synonyms:
    """For search: each alias as index terms -> the other aliases of its organisation.

    Kept per database for SYNONYMS_TTL seconds (every search needs it); changes made through
    this module are seen at once, changes by another process within the TTL."""
    key = str(session.bind.url)
    cached = _synonyms.get(key)
    if cached is not None and time.monotonic() - cached[0] < SYNONYMS_TTL:
        return cached[1]
    synonyms = await _load_synonyms(session)
    _synonyms[key] = (time.monotonic(), synonyms)
    return synonyms


def _forget_synonyms() -> None:
    _synonyms.clear()


async def _load_synonyms(session: AsyncSession) -> Synonyms:
    orgs = await _all_orgs(session)
    by_org: dict[int, list[tuple[str, ...]]] = {}
    for alias, org_id in (await session.exec(sa.select(OrgAlias.alias, OrgAlias.org_id))).all():
        org = _canonical(orgs, org_id)
        terms = tuple(index_terms(alias))
        if org is not None and terms:
            by_org.setdefault(org.id or 0, []).append(terms)
    synonyms: Synonyms = {}
    for spellings in by_org.values():
        unique = list(dict.fromkeys(spellings))
        for terms in unique:
            synonyms[terms] = [other for other in unique if other != terms]
    return synonyms


async def resolve(session: AsyncSession, name: str) -> list[OrgMatch]:
    """Organisations `name` may mean, best first: an exact alias (any language, any word
    form) gives just that one; otherwise close spellings (typos) above FUZZY_CUTOFF."""
    needle = normalise_alias(name)
    if not needle:
        return []
    orgs = await _all_orgs(session)
    aliases = (await session.exec(sa.select(OrgAlias.alias, OrgAlias.org_id))).all()
    spellings = [(alias, org_id) for alias, org_id in aliases]
    spellings += [(org.key, org.id or 0) for org in orgs.values()]
    needle_terms = " ".join(index_terms(needle))
    terms = [" ".join(index_terms(alias)) for alias, _ in spellings]
    exact: dict[int, OrgMatch] = {}
    for (alias, org_id), alias_terms in zip(spellings, terms, strict=True):
        if alias == needle or (needle_terms and alias_terms == needle_terms):
            org = _canonical(orgs, org_id)
            if org is not None:
                exact[org.id or 0] = _match(org)
    if exact or len(needle) < MIN_FUZZY_CHARS:
        return list(exact.values())
    choices = dict(enumerate(terms))
    best: dict[int, OrgMatch] = {}
    for _, score, i in process.extract(
        needle_terms or needle, choices, scorer=_similarity, score_cutoff=FUZZY_CUTOFF,
        limit=MAX_MATCHES * 4,
    ):
        org = _canonical(orgs, spellings[i][1])
        if org is not None and (org.id not in best or best[org.id or 0].score < score):
            best[org.id or 0] = _match(org, float(score))
    ranked = sorted(best.values(), key=lambda m: (-m.score, m.name))
    return [m for m in ranked if m.score >= ranked[0].score - AMBIGUITY_MARGIN][:MAX_MATCHES]


def _similarity(a: str, b: str, **_kwargs: object) -> float:
    """Typos (sort ratio) and partial names (set ratio) both count; neither alone does, so
    "секретариат шос" is not simply "шос" and "банк" is not every bank."""
    return (fuzz.token_set_ratio(a, b) + fuzz.token_sort_ratio(a, b)) / 2


async def get_org(session: AsyncSession, org_id: int) -> OrgMatch | None:
    """The organisation `org_id` resolves to (after merges), or None."""
    org = _canonical(await _all_orgs(session), org_id)
    return _match(org) if org is not None else None


def _on_topic(item_id: sa.ColumnElement[int]) -> sa.ColumnElement[bool]:
    return sa.exists().where(ItemTopic.item_id == item_id, ItemTopic.on_topic)


async def top_orgs(
    db: Database,
    days: int = 7,
    on_topic_only: bool = True,
    *,
    now: datetime | None = None,
    limit: int = 10,
) -> list[OrgCount]:
    """The organisations mentioned by the most items published in the last `days`."""
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    count = sa.func.count(sa.distinct(ItemOrg.item_id))
    statement = (
        sa.select(ItemOrg.org_id, count)
        .join(Item, Item.id == ItemOrg.item_id)
        .where(Item.published_at >= since)
        .group_by(ItemOrg.org_id)
        .order_by(count.desc(), ItemOrg.org_id)
        .limit(limit)
    )
    if on_topic_only:
        statement = statement.where(_on_topic(Item.id))
    async with db.session() as session:
        rows = (await session.exec(statement)).all()
        orgs = await _all_orgs(session)
    return [OrgCount(_match(orgs[org_id]), n) for org_id, n in rows if org_id in orgs]


async def org_items(db: Database, org_id: int, page: int = 1, per_page: int = 5) -> SearchPage:
    """The latest items that mention the organisation, a page at a time."""
    async with db.session() as session:
        total = (
            await session.exec(
                sa.select(sa.func.count()).select_from(ItemOrg).where(ItemOrg.org_id == org_id)
            )
        ).scalar_one()
        ids = (
            await session.exec(
                sa.select(Item.id)
                .join(ItemOrg, ItemOrg.item_id == Item.id)
                .where(ItemOrg.org_id == org_id)
                .order_by(Item.published_at.desc(), Item.id.desc())
                .offset(max(page - 1, 0) * per_page)
                .limit(per_page)
            )
        ).scalars().all()
        hits = await load_hits(session, list(ids))
    return SearchPage(total, hits)


async def weekly_counts(
    db: Database, org_id: int, weeks: int = 8, now: datetime | None = None
) -> list[int]:
    """Items mentioning the organisation per 7-day window, oldest first, the last ending now."""
    now = now or datetime.now(UTC)
    start = now - timedelta(weeks=weeks)
    async with db.session() as session:
        dates = (
            await session.exec(
                sa.select(Item.published_at)
                .join(ItemOrg, ItemOrg.item_id == Item.id)
                .where(ItemOrg.org_id == org_id, Item.published_at >= start)
            )
        ).scalars().all()
    counts = [0] * weeks
    for published in dates:
        week = int((published - start) / timedelta(weeks=1))
        if 0 <= week < weeks:
            counts[week] += 1
    return counts


# ---------------------------------------------------------------- admin changes


async def add_alias(db: Database, org_id: int, alias: str, actor: int | None) -> OrgMatch:
    """Teach another spelling of an organisation. Raises OrgError (unknown_org, empty_alias,
    alias_taken with the other organisation's name)."""
    spelling = normalise_alias(alias)
    if not spelling:
        raise OrgError("empty_alias")
    async with db.session() as session:
        orgs = await _all_orgs(session)
        org = _canonical(orgs, org_id)
        if org is None:
            raise OrgError("unknown_org")
        existing = await session.get(OrgAlias, spelling)
        if existing is not None:
            owner = _canonical(orgs, existing.org_id)
            if owner is not None and owner.id != org.id:
                raise OrgError("alias_taken", alias=spelling, name=owner.name)
            return _match(org)
        session.add(OrgAlias(alias=spelling, org_id=org.id, added_by=actor))
        await session.commit()
    _forget_synonyms()
    log.info("org alias %r -> %s added by %s", spelling, org.key, actor)
    return _match(org)


async def merge(db: Database, from_id: int, into_id: int, actor: int | None) -> OrgMatch:
    """Fold organisation `from_id` into `into_id`: aliases and mentions move over and the old
    row resolves to the target from now on. Raises OrgError (unknown_org, same_org)."""
    async with db.session() as session:
        orgs = await _all_orgs(session)
        source, target = _canonical(orgs, from_id), _canonical(orgs, into_id)
        if source is None or target is None:
            raise OrgError("unknown_org")
        if source.id == target.id:
            raise OrgError("same_org")
        params = {"src": source.id, "dst": target.id}
        for statement in (
            # an item naming both keeps one row with the mentions added up
            "UPDATE item_org SET mentions = mentions + (SELECT f.mentions FROM item_org f"
            " WHERE f.item_id = item_org.item_id AND f.org_id = :src)"
            " WHERE org_id = :dst"
            " AND item_id IN (SELECT item_id FROM item_org WHERE org_id = :src)",
            "DELETE FROM item_org WHERE org_id = :src"
            " AND item_id IN (SELECT item_id FROM item_org WHERE org_id = :dst)",
            "UPDATE item_org SET org_id = :dst WHERE org_id = :src",
            "UPDATE org_alias SET org_id = :dst WHERE org_id = :src",
            "UPDATE organization SET merged_into = :dst WHERE merged_into = :src",
        ):
            await session.exec(sa.text(statement), params=params)
        source.merged_into = target.id
        for spelling in (normalise_alias(source.name), normalise_alias(source.key)):
            if spelling and await session.get(OrgAlias, spelling) is None:
                session.add(OrgAlias(alias=spelling, org_id=target.id, added_by=actor))
        await session.commit()
    _forget_synonyms()
    log.info("org %s merged into %s by %s", source.key, target.key, actor)
    return _match(target)


async def add_org(db: Database, key: str, name: str, actor: int | None) -> OrgMatch:
    """A new organisation with its display name as the first alias. Raises OrgError
    (bad_key, empty_alias, org_exists, alias_taken)."""
    key = key.strip().lower()
    if not _KEY_RE.match(key):
        raise OrgError("bad_key", key=key)
    spelling = normalise_alias(name)
    if not spelling:
        raise OrgError("empty_alias")
    async with db.session() as session:
        if (await _orgs_by_key(session, {key})).get(key) is not None:
            raise OrgError("org_exists", key=key)
        taken = await session.get(OrgAlias, spelling)
        if taken is not None:
            owner = _canonical(await _all_orgs(session), taken.org_id)
            raise OrgError("alias_taken", alias=spelling, name=owner.name if owner else "?")
        org = Organization(key=key, name=name.strip(), names={})
        session.add(org)
        await session.flush()
        session.add(OrgAlias(alias=spelling, org_id=org.id, added_by=actor))
        if spelling != key and await session.get(OrgAlias, key) is None:
            session.add(OrgAlias(alias=key, org_id=org.id, added_by=actor))
        await session.commit()
    _forget_synonyms()
    log.info("org %s added by %s", key, actor)
    return _match(org)
