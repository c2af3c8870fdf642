"""The search query language a user can guess, parsed into a backend-neutral structure.

    энергетика "зелёная экономика" -уголь topic:green source:kursiv lang:kk since:7d

Plain words must all match; "quoted phrases" match as written (word forms folded); `-word`
excludes; `key:value` filters narrow. Whatever the input, `parse` returns a `Query` and never
raises: what cannot be read is dropped and reported as a hint code.

Words are normalised exactly as the index is (`index_terms`): lemma (ё→е, lower-case), then
a stem the derived forms share, since lemmas still differ between parts of speech:
энергетики → энергетика → `энергет` = энергетической → энергетический → `энергет`. Kazakh
words lose their case, possessive and plural endings (Қазақстанның → `қазақстан`). Every
query term is then one exact index term: no prefix expansion, which keeps lookups fast.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from storage.text import KAZAKH_LETTERS, _morph, lemma, tokenize

MAX_QUERY_CHARS = 1000
MAX_GROUPS = 8
MAX_EXCLUDED = 5
MAX_TERM_CHARS = 60
MAX_PHRASE_TERMS = 8
MAX_NGRAM = 6
MIN_STEM = 4  # endings are not stripped below this length (short stems are ambiguous)

# Endings of Russian dictionary forms, longest first (the index holds lemmas, not word forms).
_RU_ENDINGS = (
    "ический", "ческий", "ский", "ской", "ость", "ение", "ание", "ться", "ика",
    "ьный", "ьной", "ный", "ной", "ый", "ий", "ой", "ия", "ие", "ье", "ья", "ть",
    "а", "я", "о", "е", "ь", "ы", "и",
)
# Kazakh endings in the reverse order of their attachment: root + plural + possessive + case.
_KK_ENDINGS = (
    (  # case
        "ның", "нің", "дың", "дің", "тың", "тің", "дан", "ден", "тан", "тен", "нан", "нен",
        "ға", "ге", "қа", "ке", "на", "не", "да", "де", "та", "те",
        "ды", "ді", "ты", "ті", "ны", "ні",
    ),
    ("сы", "сі", "ы", "і"),  # possessive
    ("лар", "лер", "дар", "дер", "тар", "тер"),  # plural
)
_KK_KEEP = ("стан",)  # Қазақстан is not Қазақс + ablative -тан
_ALTERNATING = frozenset("кгхцч")
_EN_ENDINGS = ("ations", "ation", "ings", "ing", "ies", "ed", "es", "s", "y")

STOPWORDS = frozenset(
    "и в во на по с со к ко о об от для из за у не что как а но или это же ли бы до при "
    "он она оно они его ее их мы вы я ты этот эта эти тот та те то который которая которые "
    "был была было были быть есть также уже еще "
    "and or not the of in on for to a an is are at by with from "
    "және мен бен пен да де туралы үшін бойынша".split()
)

_FILTER_KEYS = {
    "topic": "topic", "тема": "topic", "тақырып": "topic",
    "source": "source", "источник": "source", "дереккөз": "source", "site": "source",
    "lang": "lang", "язык": "lang", "тіл": "lang",
    "since": "since", "с": "since", "после": "since", "бастап": "since",
}
_LANGS = {
    "ru": "ru", "рус": "ru", "русский": "ru", "орыс": "ru",
    "kk": "kk", "kz": "kk", "каз": "kk", "казахский": "kk", "қаз": "kk", "қазақ": "kk",
    "en": "en", "eng": "en", "англ": "en", "английский": "en", "ағылшын": "en",
}
_SINCE_UNITS = {"h": 1 / 24, "ч": 1 / 24, "d": 1, "д": 1, "w": 7, "н": 7, "m": 30, "м": 30,
                "y": 365, "г": 365}
_SINCE_REL_RE = re.compile(r"^(\d{1,4})([a-zа-я])$")
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%Y-%m")
_PART_RE = re.compile(r"[0-9a-zа-яәғқңөұүһі]+")
_CHUNK_RE = re.compile(r'(-?)"([^"]*)"|(\S+)')
_FILTER_RE = re.compile(r"^([^\W\d_]+):(.+)$")


Phrase = tuple[str, ...]  # consecutive index terms
Group = tuple[Phrase, ...]  # any one of these must match
Synonyms = Mapping[tuple[str, ...], Sequence[tuple[str, ...]]]


@dataclass
class Query:
    """A parsed query: `groups` must all match, `excluded` must not; filters narrow."""

    groups: list[Group] = field(default_factory=list)
    excluded: list[Group] = field(default_factory=list)
    topic: str | None = None
    source: str | None = None
    lang: str | None = None
    since: datetime | None = None
    hint: str | None = None  # a code such as "bad_since" the bot turns into a one-line hint

    @property
    def has_filters(self) -> bool:
        return any(v is not None for v in (self.topic, self.source, self.lang, self.since))

    @property
    def searchable(self) -> bool:
        """Whether there is anything to look for (excluded words alone are not enough)."""
        return bool(self.groups) or self.has_filters

    @property
    def contradictory(self) -> bool:
        """Whether an excluded phrase is part of every alternative of a required group, so
        that nothing can match (`ветер -ветер`, `"зелёная экономика" -экономика`)."""
        return any(
            all(_contains(phrase, part) for phrase in group)
            for group in self.groups for excluded in self.excluded for part in excluded
        )


def _contains(phrase: Phrase, part: Phrase) -> bool:
    size = len(part)
    return any(phrase[start : start + size] == part for start in range(len(phrase) - size + 1))


def index_terms(text: str) -> list[str]:
    """The words of `text` as the index stores them (see `stem`), split at inner hyphens.

    Only letters and digits survive, which is what makes quoting them in FTS5 and tsquery
    expressions safe.
    """
    return [stem(part) for word in tokenize(text) for part in _PART_RE.findall(word)]


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The index term of a folded word: the part its forms and derived words share.

    Kazakh words lose their endings; a word the Russian dictionary does not know may be
    Kazakh written without Kazakh letters (энергиясы, Алматыда), so it loses Kazakh endings
    first; then Russian words go through their lemma (the same path at index and query time
    keeps both sides equal) and lose the ending of that lemma."""
    if word.isdigit():
        return word
    if word.isascii():
        return _strip(word, _EN_ENDINGS)
    if KAZAKH_LETTERS.intersection(word):
        return _kazakh_root(word)
    if not _russian_word(word):
        word = _kazakh_root(word)
    lemma_ = _PART_RE.findall(lemma(word))
    if len(lemma_) != 1:  # a lemma never splits, but only letters may reach the index
        return word
    root = _strip(lemma_[0], _RU_ENDINGS)
    if root != lemma_[0] and root[-1] in _ALTERNATING and len(root) > MIN_STEM + 1:
        root = root[:-1]  # эколог-ия / эколог-ический → эколо: к, г, х, ц, ч alternate
    return root


def _kazakh_root(word: str) -> str:
    for endings in _KK_ENDINGS:
        if not word.endswith(_KK_KEEP):
            word = _strip(word, endings)
    return word


@lru_cache(maxsize=200_000)
def _russian_word(word: str) -> bool:
    """Whether the Russian dictionary knows `word` (else it is likely Kazakh: Астанадан)."""
    return _morph().word_is_known(word)


def _strip(word: str, endings: Sequence[str]) -> str:
    for ending in endings:
        if word.endswith(ending) and len(word) - len(ending) >= MIN_STEM:
            return word[: -len(ending)]
    return word


def parse(text: str, *, now: datetime | None = None, synonyms: Synonyms | None = None) -> Query:
    """Read `text` as a query; `synonyms` maps term sequences to alternatives (org aliases)."""
    now = now or datetime.now(UTC)
    query = Query()
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        query.hint = "too_long"
    words: list[Phrase] = []  # plain positive words, each as its index terms
    phrases: list[Phrase] = []
    excluded: list[Phrase] = []
    for match in _CHUNK_RE.finditer(text):
        negative, quoted, chunk = match.group(1), match.group(2), match.group(3)
        if quoted is not None:
            terms = _terms(quoted)
            if terms:
                (excluded if negative else phrases).append(terms[:MAX_PHRASE_TERMS])
            continue
        filtered = _FILTER_RE.match(chunk)
        if filtered and filtered.group(1).lower() in _FILTER_KEYS:
            _apply_filter(query, _FILTER_KEYS[filtered.group(1).lower()], filtered.group(2), now)
            continue
        if chunk.startswith("-") and len(chunk) > 1:
            terms = _terms(chunk[1:])
            if terms:
                excluded.append(terms)
            continue
        terms = _terms(chunk)
        if terms:
            words.append(terms)
    query.groups = _word_groups(words, synonyms or {}) + [_phrase_group(p) for p in phrases]
    query.groups = query.groups[:MAX_GROUPS]
    query.excluded = [_phrase_group(p) for p in excluded[:MAX_EXCLUDED]]
    if not query.searchable and query.hint is None:
        query.hint = "only_excluded" if query.excluded else "empty"
    return query


def _terms(text: str) -> tuple[str, ...]:
    return tuple(term for term in index_terms(text) if len(term) <= MAX_TERM_CHARS)


def _phrase_group(terms: Phrase) -> Group:
    return (terms,)


@lru_cache(maxsize=1)
def _stop_terms() -> frozenset[str]:
    return frozenset(stem(word) for word in STOPWORDS)


def _word_groups(words: list[Phrase], synonyms: Synonyms) -> list[Group]:
    """Plain words to groups: runs that name an organisation become an OR of its aliases."""
    if len(words) > 1:  # stop words only count when nothing else was asked
        kept = [w for w in words if not (len(w) == 1 and w[0] in _stop_terms())]
        words = kept or words
    groups: list[Group] = []
    index = 0
    while index < len(words):
        for size in range(min(MAX_NGRAM, len(words) - index), 0, -1):
            key = tuple(term for word in words[index : index + size] for term in word)
            alternatives = synonyms.get(key)
            if alternatives:
                groups.append(_synonym_group(key, alternatives))
                index += size
                break
        else:
            groups.append(_phrase_group(words[index]))
            index += 1
    return groups


def _synonym_group(key: Phrase, alternatives: Sequence[Phrase]) -> Group:
    return tuple(terms for terms in dict.fromkeys([key, *alternatives]) if terms)


def _apply_filter(query: Query, key: str, value: str, now: datetime) -> None:
    value = value.replace("\x00", "").strip().lower()  # PostgreSQL text holds no NUL
    if key == "topic":
        query.topic = value
    elif key == "source":
        query.source = value.replace("ё", "е")
    elif key == "lang":
        if value in _LANGS:
            query.lang = _LANGS[value]
        else:
            query.hint = "bad_lang"
    elif key == "since":
        since = parse_since(value, now)
        if since is None:
            query.hint = "bad_since"
        else:
            query.since = since


def parse_since(value: str, now: datetime) -> datetime | None:
    """`7d`, `2w`, `3m`, `12h` (also in Russian letters) or a date `2026-11-01` / `01.11.2026`."""
    relative = _SINCE_REL_RE.match(value)
    if relative and relative.group(2) in _SINCE_UNITS:
        try:
            return now - timedelta(days=int(relative.group(1)) * _SINCE_UNITS[relative.group(2)])
        except OverflowError:  # since:3000y: before any date there is; read as a bad value
            return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


# ---------------------------------------------------------------- backend match expressions
# Terms hold only letters and digits (see index_terms), so quoting them cannot break out.


Tags = Sequence[Sequence[str]]  # index tags that must match: all groups, any tag of each


def fts5_expression(query: Query, tags: Tags = ()) -> str:
    """The SQLite FTS5 MATCH expression (bound as one parameter) for a query with groups:
    words in the `title` and `body` columns, tags in the `tags` column."""
    words = " AND ".join(_fts5_group(group) for group in query.groups)
    expression = f"({{title body}} : ({words}))"
    if query.excluded:
        excluded = " OR ".join(_fts5_group(g) for g in query.excluded)
        expression += f" NOT ({{title body}} : ({excluded}))"
    for group in tags:
        expression += " AND (tags : (" + " OR ".join(f'"{tag}"' for tag in group) + "))"
    return expression


def _fts5_group(group: Group) -> str:
    return "(" + " OR ".join(_fts5_phrase(phrase) for phrase in group) + ")"


def _fts5_phrase(phrase: Phrase) -> str:
    return '"' + " ".join(phrase) + '"'


def tsquery_expression(query: Query, tags: Tags = ()) -> str:
    """The PostgreSQL `to_tsquery('simple', ...)` text (bound as one parameter). Words are
    not restricted to the title and text weights: weight labels make the GIN index recheck
    every row, and tags (zz...) are no words anyone searches for."""
    expression = " & ".join(_ts_group(group) for group in query.groups)
    if query.excluded:
        expression = f"({expression}) & !({' | '.join(_ts_group(g) for g in query.excluded)})"
    for group in tags:
        expression += " & (" + " | ".join(f"'{tag}'" for tag in group) + ")"
    return expression


def _ts_group(group: Group) -> str:
    return "(" + " | ".join(_ts_phrase(phrase) for phrase in group) + ")"


def _ts_phrase(phrase: Phrase) -> str:
    return "(" + " <-> ".join(f"'{term}'" for term in phrase) + ")"
