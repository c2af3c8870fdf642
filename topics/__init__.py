"""Topics: definitions from `seeds/`, learning, scoring with evidence, organisations, tuning.

Public surface (other packages import only these names):
- `load_classifier(seeds_dir)` -> `Classifier` (seeds only, no database);
- `Classifier.classify(title, text, lang)` -> `Classification`;
- `load_gazetteer(seeds_dir)` -> `Gazetteer` of `GazetteerEntry`;
- `TopicService` (tuning stored in the database), `TuningError`, `Preview`, `OrgRef`.
"""

from __future__ import annotations

from dataclasses import dataclass

from topics.build import Tuning, build_classifier, load_classifier
from topics.definitions import Gazetteer, GazetteerEntry, load_gazetteer
from topics.model import Classification, Classifier
from topics.service import (
    Change,
    ChangeRecord,
    Preview,
    PreviewItem,
    TopicInfo,
    TopicService,
    TuningError,
)


@dataclass(frozen=True)
class OrgRef:
    """A canonical organisation: its gazetteer key and display name."""

    key: str
    name: str


__all__ = [
    "Change",
    "ChangeRecord",
    "Classification",
    "Classifier",
    "Gazetteer",
    "GazetteerEntry",
    "OrgRef",
    "Preview",
    "PreviewItem",
    "TopicInfo",
    "TopicService",
    "Tuning",
    "TuningError",
    "build_classifier",
    "load_classifier",
    "load_gazetteer",
]
