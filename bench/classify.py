"""Classifier quality and speed on a labelled JSONL file.

    python bench/classify.py [PATH] [--no-ner]

PATH holds one item a line with `id`, `title`, `text`, `lang` and `labels` (topic ids; empty for
neither), e.g. ../shared/eval/dev.jsonl. Without PATH the project's own fixtures are used
(tests/topics_data: on-topic items plus ordinary news). Prints precision, recall and F1 per
topic, micro-F1, the misclassified ids, the model load time, and CPU time per 1,000 items
(topics + gazetteer, then with NER on the on-topic Russian items).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage.text import lemma  # noqa: E402
from topics import load_classifier  # noqa: E402

FIXTURES = [ROOT / "tests" / "topics_data" / "on_topic.jsonl",
            ROOT / "tests" / "topics_data" / "ordinary.jsonl"]


def _read(paths: list[Path]) -> list[dict]:
    items = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                item = json.loads(line)
                item.setdefault("labels", [])
                item.setdefault("id", f"{path.name}:{number}")
                items.append(item)
    return items


def _f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _cpu_per_thousand(classifier, batch: list[tuple[str, str, str | None]]) -> float:
    lemma.cache_clear()  # cold word caches: repeated items must not flatter the figure
    start = time.process_time()
    classifier.classify_many(batch)
    return (time.process_time() - start) * 1000 / len(batch)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, help="labelled JSONL (default: fixtures)")
    parser.add_argument("--no-ner", action="store_true", help="skip the NER timing")
    args = parser.parse_args()
    items = _read([args.path] if args.path else FIXTURES)

    start = time.perf_counter()
    classifier = load_classifier(ROOT / "seeds", ner=False)
    load_seconds = time.perf_counter() - start
    results = classifier.classify_many([(i["title"], i["text"], i.get("lang")) for i in items])

    print(f"{len(items)} items from {args.path or 'tests/topics_data'}")
    print(f"{'topic':8} {'prec':>6} {'recall':>6} {'F1':>6}   tp  fp  fn")
    totals = [0, 0, 0]
    for topic_id in classifier.topic_ids:
        tp = fp = fn = 0
        for item, result in zip(items, results, strict=True):
            gold, got = topic_id in item["labels"], result.on(topic_id)
            tp += gold and got
            fp += got and not gold
            fn += gold and not got
        totals = [totals[0] + tp, totals[1] + fp, totals[2] + fn]
        p, r, f = _f1(tp, fp, fn)
        print(f"{topic_id:8} {p:6.3f} {r:6.3f} {f:6.3f}  {tp:3} {fp:3} {fn:3}")
    p, r, f = _f1(*totals)
    print(f"{'micro':8} {p:6.3f} {r:6.3f} {f:6.3f}  {totals[0]:3} {totals[1]:3} {totals[2]:3}")
    wrong = [
        f"{item['id']} {sorted(item['labels'])}->{sorted(result.topics)}"
        for item, result in zip(items, results, strict=True)
        if sorted(item["labels"]) != sorted(result.topics)
    ]
    print("misclassified:", ", ".join(wrong) or "none")

    batch = [(i["title"], i["text"], i.get("lang")) for i in items]
    batch = (batch * (1000 // len(batch) + 1))[:1000]
    cpu = _cpu_per_thousand(load_classifier(ROOT / "seeds", ner=False), batch)
    print(f"model load: {load_seconds:.2f} s wall (pymorphy, seeds learning, gazetteer)")
    print(f"classify 1,000 items: {cpu:.2f} s CPU ({1000 / cpu:,.0f} items/s), topics + gazetteer")
    if not args.no_ner:
        with_ner = load_classifier(ROOT / "seeds", ner=True)
        start = time.perf_counter()
        with_ner.orgs.ner.org_spans("Шанхайская организация сотрудничества")  # load natasha
        ner_load = time.perf_counter() - start
        on_topic = sum(bool(r.topics) for r in results) / len(results)
        cpu = _cpu_per_thousand(with_ner, batch)
        print(f"natasha load: {ner_load:.2f} s; with NER on on-topic Russian items "
              f"({on_topic:.0%} on topic here): {cpu:.2f} s CPU per 1,000 items")
    return 0


if __name__ == "__main__":
    sys.exit(main())
