"""`newsbot classify` (JSONL in, JSONL out) and `newsbot learn` (what each topic learned).

Both work from `seeds/` alone: no database, no network.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from bot.config import get_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    classify = subparsers.add_parser(
        "classify",
        help="score JSONL items ({id, title, text[, lang]}) against the topics",
        description="Read one JSON object a line and write one result a line, in order: "
        '{"id", "topics", "scores", "why", "orgs"}. A bad line gets '
        '{"line", "id", "error"} and the rest go on; the exit code is 1 if any line failed.',
    )
    classify.add_argument("--input", "-i", default="-", help="JSONL file, or - for stdin")
    classify.add_argument(
        "--no-ner", action="store_true", help="organisations from the gazetteer only (faster)"
    )
    classify.set_defaults(func=_classify)
    learn = subparsers.add_parser("learn", help="show each topic's strongest learned terms")
    learn.add_argument("--top", type=int, default=25, help="terms to show per topic")
    learn.set_defaults(func=_learn)


def _parse(line: str) -> tuple[dict[str, Any] | None, str | None]:
    """The item of a line, or an error message."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as error:
        return None, f"not valid JSON: {error.msg} (column {error.colno})"
    if not isinstance(item, dict):
        return None, "not a JSON object"
    if item.get("id") is None:
        return item, "missing field: id"
    if not isinstance(item.get("text"), str):
        return item, "missing field: text" if "text" not in item else "text must be a string"
    if not isinstance(item.get("title", ""), str):
        return item, "title must be a string"
    return item, None


def classify_lines(lines: Iterable[str], *, ner: bool = True) -> Iterator[tuple[dict, bool]]:
    """One output object per input line, in order, with whether the line was good."""
    from topics import load_classifier

    classifier = None
    for number, line in enumerate(lines, start=1):
        item, error = _parse(line)
        if error is not None:
            yield {"line": number, "id": (item or {}).get("id"), "error": error}, False
            continue
        assert item is not None
        if classifier is None:
            classifier = load_classifier(get_settings().seeds_dir, ner=ner)
        lang = item.get("lang") if isinstance(item.get("lang"), str) else None
        result = classifier.classify(item.get("title") or "", item["text"], lang)
        yield {
            "id": item["id"],
            "topics": result.topics,
            "scores": result.scores,
            "why": {tid: [term for term, w in terms if w > 0] for tid, terms in result.why.items()},
            "orgs": [result.org_names.get(key, key) for key in result.orgs],
        }, True


def _classify(args: argparse.Namespace) -> int:
    stream: IO[str]
    stream = sys.stdin if args.input == "-" else Path(args.input).open(encoding="utf-8")
    failed = False
    with stream:
        lines = (line.rstrip("\r\n") for line in stream)
        for out, ok in classify_lines(lines, ner=not args.no_ner):
            failed |= not ok
            sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return 1 if failed else 0


def _learn(args: argparse.Namespace) -> int:
    from topics import load_classifier

    classifier = load_classifier(get_settings().seeds_dir, ner=False)
    for topic_id in classifier.topic_ids:
        model = classifier.models[topic_id]
        terms = {term.text: term for term in model.terms.values()}.values()
        learned = sorted(
            (t for t in terms if t.kind == "learned"), key=lambda t: (-t.weight, t.text)
        )
        lexicon = [t for t in terms if t.kind in ("core", "alias")]
        print(
            f"{topic_id} ({model.names.get('en', topic_id)}): threshold {model.threshold}, "
            f"{len(learned)} terms learned from the seeds, {len(lexicon)} from topics.toml"
        )
        for term in learned[: args.top]:
            print(f"  {term.weight:6.3f}  {term.text}")
    return 0
