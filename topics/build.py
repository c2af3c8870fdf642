"""Building topic models: seeds lexicon + learned vocabulary + admins' tuning.

Order of precedence for a term's weight, weakest first:
1. learned from the topic's seed articles (`topics.learn`);
2. core terms and aliases of `topics.toml` (replace learned weights);
3. examples admins gave, Rocchio-style: every non-alias term moves by
   +BETA x (mean weight in the positive examples) - GAMMA x (mean weight in the negative ones),
   where an example's weight for a term is its learned weight in that text, or 1.0 for a topic
   term it mentions; so terms of good examples gain, terms of bad ones lose (and may go negative).
   Terms new to the topic count towards its anchor like core terms, in proportion to weight;
4. admins' explicit rules (replace everything; weight 0 removes a term).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from storage.text import fold
from topics.definitions import TopicDef, load_gazetteer, load_topic_defs
from topics.learn import LearnedTerm, learn_terms
from topics.matcher import Matcher, compile_phrase, words
from topics.model import Classifier, Term, TopicModel
from topics.orgs import NerTagger, OrgExtractor

BETA = 0.75
GAMMA = 0.75
LEARNED_SCALE = 1.0


@dataclass(frozen=True)
class Example:
    positive: bool
    text: str


@dataclass
class Tuning:
    """What admins changed, as stored in the database."""

    thresholds: dict[str, float] = field(default_factory=dict)
    rules: dict[str, dict[str, float]] = field(default_factory=dict)  # topic -> term -> weight
    examples: dict[str, list[Example]] = field(default_factory=dict)
    added: list[TopicDef] = field(default_factory=list)
    disabled: set[str] = field(default_factory=set)


@lru_cache(maxsize=64)
def _learned(texts: tuple[str, ...], min_count: int) -> tuple[LearnedTerm, ...]:
    return tuple(learn_terms(texts, min_count=min_count, scale=LEARNED_SCALE))


def seed_texts(seeds_dir: Path, topic: TopicDef) -> tuple[str, ...]:
    """The topic's seed articles (a missing file is an error worth stopping on)."""
    return tuple((seeds_dir / name).read_text(encoding="utf-8") for name in topic.seeds)


def lexicon_terms(topic: TopicDef) -> dict[tuple[str, ...], Term]:
    """The topic's aliases and core terms from topics.toml."""
    terms: dict[tuple[str, ...], Term] = {}
    for kind, entries in (("core", topic.terms), ("alias", topic.aliases)):
        for entry in entries:
            variants = compile_phrase(entry.text, entry.lang)
            for phrase in variants:
                terms[phrase] = Term(entry.text, variants[0], entry.weight, kind)
    return terms


def _example_vector(
    text: str, terms: dict[tuple[str, ...], Term], matcher: Matcher
) -> dict[tuple[str, ...], tuple[str, float]]:
    vector = {t.phrase: (t.text, t.weight) for t in _learned((text,), 1)}
    for match in matcher.find(words(text)):
        term = terms[match.phrase]
        if term.kind != "alias":
            vector[match.phrase] = (term.text, 1.0)
    return vector


def apply_examples(
    terms: dict[tuple[str, ...], Term], examples: Sequence[Example]
) -> dict[tuple[str, ...], Term]:
    """Rocchio: move term weights towards positive and away from negative examples."""
    if not examples:
        return terms
    matcher = Matcher(terms)
    shift: dict[str, float] = defaultdict(float)  # by term text
    new: dict[str, tuple[str, ...]] = {}
    for positive in (True, False):
        group = [e for e in examples if e.positive is positive]
        factor = (BETA if positive else -GAMMA) / max(len(group), 1)
        for example in group:
            for phrase, (label, weight) in _example_vector(example.text, terms, matcher).items():
                known = terms.get(phrase)
                shift[known.text if known else label] += factor * weight
                if known is None:
                    new.setdefault(label, phrase)
    out = {
        phrase: term
        if term.kind == "alias" or term.text not in shift
        else replace(term, weight=round(term.weight + shift[term.text], 4))
        for phrase, term in terms.items()
    }
    for label, phrase in sorted(new.items()):
        out[phrase] = Term(label, phrase, round(shift[label], 4), "example")
    return out


def apply_rules(
    terms: dict[tuple[str, ...], Term], rules: dict[str, float]
) -> dict[tuple[str, ...], Term]:
    """Admins' explicit term weights; weight 0 removes the term.

    A rule replaces the term in every language list it is written the same way in.
    """
    out = dict(terms)
    for text, weight in sorted(rules.items()):
        variants = compile_phrase(text)
        same = fold(text)
        out = {p: t for p, t in out.items() if p not in variants and fold(t.text) != same}
        if weight != 0:
            out.update({phrase: Term(text, variants[0], weight, "rule") for phrase in variants})
    return out


def build_model(
    topic: TopicDef,
    seeds: Sequence[str],
    tuning: Tuning,
    foreign: frozenset[tuple[str, ...]] = frozenset(),
) -> TopicModel:
    """One topic's model. `foreign`: phrases other topics' definitions claim; they are not
    learned for this one (seeds about two topics would otherwise teach each the other's words).
    """
    terms: dict[tuple[str, ...], Term] = {
        t.phrase: Term(t.text, t.phrase, t.weight, "learned")
        for t in _learned(tuple(seeds), 2)
        if t.phrase not in foreign
    }
    terms.update(lexicon_terms(topic))
    terms = apply_examples(terms, tuning.examples.get(topic.id, []))
    terms = apply_rules(terms, tuning.rules.get(topic.id, {}))
    return TopicModel(
        id=topic.id,
        names=dict(topic.names),
        description=topic.description,
        threshold=tuning.thresholds.get(topic.id, topic.threshold),
        scale=topic.scale,
        anchor=topic.anchor,
        anchor_min=topic.anchor_min,
        terms={p: t for p, t in terms.items() if t.weight != 0},
    )


def topic_defs(seeds_dir: Path, tuning: Tuning) -> list[TopicDef]:
    """The seeds' topics followed by the ones admins added."""
    defs = load_topic_defs(seeds_dir)
    known = {d.id for d in defs}
    return defs + [d for d in tuning.added if d.id not in known]


def build_classifier(
    seeds_dir: Path, tuning: Tuning | None = None, *, ner: bool = True
) -> Classifier:
    """A classifier from the seeds and the given tuning."""
    tuning = tuning or Tuning()
    defs = [d for d in topic_defs(seeds_dir, tuning) if d.id not in tuning.disabled]
    lexicons = {d.id: frozenset(lexicon_terms(d)) for d in defs}
    models = [
        build_model(
            topic,
            seed_texts(seeds_dir, topic),
            tuning,
            frozenset().union(*(lex for tid, lex in lexicons.items() if tid != topic.id)),
        )
        for topic in defs
    ]
    extractor = OrgExtractor(load_gazetteer(seeds_dir), NerTagger() if ner else None)
    return Classifier(models, extractor)


def load_classifier(seeds_dir: Path, *, ner: bool = True) -> Classifier:
    """The classifier defined by `seeds_dir` alone (no database): what `newsbot classify` uses."""
    return build_classifier(Path(seeds_dir), ner=ner)
