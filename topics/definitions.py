"""Reading `seeds/topics.toml` (topic definitions) and `seeds/organizations.toml` (gazetteer)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

LANGS = ("ru", "kk", "en")
ANCHORS = ("aliases", "core")


class DefinitionError(ValueError):
    """A seeds file is malformed; the message names the file and the problem."""


@dataclass(frozen=True)
class LexTerm:
    """A lexicon entry as written: phrase, the language list it is in, weight."""

    text: str
    lang: str
    weight: float


@dataclass
class TopicDef:
    """A topic as defined in topics.toml (or added by an admin, then with no seeds)."""

    id: str
    names: dict[str, str]
    description: str = ""
    seeds: list[str] = field(default_factory=list)
    threshold: float = 0.5
    scale: float = 5.0
    anchor: str = "core"
    anchor_min: float = 1.5
    alias_weight: float = 3.0
    aliases: list[LexTerm] = field(default_factory=list)
    terms: list[LexTerm] = field(default_factory=list)


@dataclass
class GazetteerEntry:
    """A canonical organisation: stable key, display names and spellings by language."""

    key: str
    names: dict[str, str]
    aliases_by_lang: dict[str, list[str]] = field(default_factory=dict)

    @property
    def aliases(self) -> list[str]:
        """Every spelling (display names included), each once, in file order."""
        seen: dict[str, None] = {}
        for lang in LANGS:
            if lang in self.names:
                seen.setdefault(self.names[lang], None)
            for alias in self.aliases_by_lang.get(lang, []):
                seen.setdefault(alias, None)
        return list(seen)

    def alias_langs(self) -> list[tuple[str, str]]:
        """(spelling, language) pairs, display names included."""
        pairs: dict[tuple[str, str], None] = {}
        for lang in LANGS:
            if lang in self.names:
                pairs.setdefault((self.names[lang], lang), None)
            for alias in self.aliases_by_lang.get(lang, []):
                pairs.setdefault((alias, lang), None)
        return list(pairs)

    def display(self, lang: str = "ru") -> str:
        return self.names.get(lang) or self.names.get("ru") or next(iter(self.names.values()))


@dataclass
class Gazetteer:
    entries: list[GazetteerEntry]

    def get(self, key: str) -> GazetteerEntry | None:
        return next((entry for entry in self.entries if entry.key == key), None)


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise DefinitionError(f"{path}: file not found") from error
    except tomllib.TOMLDecodeError as error:
        raise DefinitionError(f"{path}: {error}") from error


def _lex(table: object, where: str, default_weight: float | None) -> list[LexTerm]:
    """Entries of a per-language table: lists (weight = default) or {phrase = weight} tables."""
    if table is None:
        return []
    if not isinstance(table, dict):
        raise DefinitionError(f"{where}: expected a table of languages")
    out: list[LexTerm] = []
    for lang, entries in table.items():
        if lang not in LANGS:
            raise DefinitionError(f"{where}: unknown language {lang!r}")
        if isinstance(entries, list) and default_weight is not None:
            out.extend(LexTerm(str(text), lang, default_weight) for text in entries)
        elif isinstance(entries, dict):
            out.extend(LexTerm(str(text), lang, float(w)) for text, w in entries.items())
        else:
            raise DefinitionError(f"{where}.{lang}: expected a list or a table of weights")
    return out


def load_topic_defs(seeds_dir: Path) -> list[TopicDef]:
    """The topics of `seeds_dir/topics.toml`, in file order."""
    path = seeds_dir / "topics.toml"
    data = _read(path)
    defs: list[TopicDef] = []
    for topic_id, spec in data.items():
        where = f"{path.name} [{topic_id}]"
        if not isinstance(spec, dict) or "names" not in spec:
            raise DefinitionError(f"{where}: a topic needs names")
        anchor = spec.get("anchor", "core")
        if anchor not in ANCHORS:
            raise DefinitionError(f"{where}: anchor must be one of {', '.join(ANCHORS)}")
        alias_weight = float(spec.get("alias_weight", 3.0))
        terms = _lex(spec.get("terms"), f"{where}.terms", None)
        terms += _lex(spec.get("exclude"), f"{where}.exclude", None)
        defs.append(
            TopicDef(
                id=topic_id,
                names=dict(spec["names"]),
                description=str(spec.get("description", "")).strip(),
                seeds=list(spec.get("seeds", [])),
                threshold=float(spec.get("threshold", 0.5)),
                scale=float(spec.get("scale", 5.0)),
                anchor=anchor,
                anchor_min=float(spec.get("anchor_min", 1.5)),
                alias_weight=alias_weight,
                aliases=_lex(spec.get("aliases"), f"{where}.aliases", alias_weight),
                terms=terms,
            )
        )
    return defs


def load_gazetteer(seeds_dir: Path) -> Gazetteer:
    """The organisations of `seeds_dir/organizations.toml`."""
    path = seeds_dir / "organizations.toml"
    data = _read(path)
    entries: list[GazetteerEntry] = []
    for key, spec in data.items():
        if not isinstance(spec, dict) or "names" not in spec:
            raise DefinitionError(f"{path.name} [{key}]: an organisation needs names")
        by_lang = {lang: [str(a) for a in spec.get(lang, [])] for lang in LANGS if lang in spec}
        entries.append(GazetteerEntry(key, dict(spec["names"]), by_lang))
    return Gazetteer(entries)
