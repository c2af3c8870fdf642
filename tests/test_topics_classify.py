"""The classifier learned from `seeds/`: verdicts, evidence, languages, organisations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from topics import Classifier, load_classifier, load_gazetteer
from topics.learn import learn_terms

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "topics_data"


def _jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return load_classifier(SEEDS, ner=False)


def test_learning_is_deterministic() -> None:
    texts = [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))]
    first, second = learn_terms(texts), learn_terms(list(texts))
    assert first == second and first
    one, two = load_classifier(SEEDS, ner=False), load_classifier(SEEDS, ner=False)
    for topic_id in one.topic_ids:
        assert one.models[topic_id].terms == two.models[topic_id].terms
    item = _jsonl("on_topic.jsonl")[0]
    assert one.classify(item["title"], item["text"]) == two.classify(item["title"], item["text"])


def test_results_do_not_depend_on_the_process(tmp_path: Path) -> None:
    """Same seeds, same items -> same scores and evidence, whatever the hash seed."""
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from topics import load_classifier\n"
        "c = load_classifier(Path(sys.argv[1]), ner=False)\n"
        "for line in Path(sys.argv[2]).read_text(encoding='utf-8').splitlines():\n"
        "    item = json.loads(line)\n"
        "    r = c.classify(item['title'], item['text'], item['lang'])\n"
        "    print(json.dumps([r.topics, r.scores, r.why, r.orgs], ensure_ascii=False))\n"
        "print(json.dumps(sorted((t.text, t.weight) for m in c.models.values()"
        " for t in m.terms.values()), ensure_ascii=False))\n"
    )
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "OMP_NUM_THREADS": "1"}
        done = subprocess.run(
            [sys.executable, "-c", script, str(SEEDS), str(DATA / "on_topic.jsonl")],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=True,
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] and outputs[0].count("\n") > 20


def test_learned_terms_are_topical_lemmas() -> None:
    texts = [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))]
    learned = {term.text for term in learn_terms(texts)}
    assert "низкоуглеродных технологий" in learned  # a phrase, shown as the seeds write it
    assert "партнерство" in learned  # a word, as its lemma with ё folded
    assert not learned & {"казахстан", "китай", "астана", "и", "в"}  # no names, no stopwords


@pytest.mark.parametrize("item", _jsonl("ordinary.jsonl"), ids=lambda item: item["id"])
def test_ordinary_news_is_not_flagged(classifier: Classifier, item: dict) -> None:
    result = classifier.classify(item["title"], item["text"], item["lang"])
    assert result.topics == [], (result.scores, result.why)


@pytest.mark.parametrize("item", _jsonl("on_topic.jsonl"), ids=lambda item: item["id"])
def test_on_topic_news_is_flagged_in_every_language(classifier: Classifier, item: dict) -> None:
    result = classifier.classify(item["title"], item["text"], item["lang"])
    assert sorted(result.topics) == sorted(item["labels"]), (result.scores, result.why)
    for topic_id in item["labels"]:
        assert result.scores[topic_id] >= classifier.threshold(topic_id)
        assert result.why[topic_id] and result.why[topic_id][0][1] > 0


def test_every_language_gets_scores_and_evidence(classifier: Classifier) -> None:
    cases = {
        "ru": ("Солнечная электростанция заработала", "Новая СЭС снизит выбросы."),
        "kk": ("Күн электр станциясы іске қосылды", "Жаңартылатын энергия көздері дамиды."),
        "en": ("Solar power plant opens", "Renewable energy output grows in Kazakhstan."),
    }
    for lang, (title, text) in cases.items():
        result = classifier.classify(title, text, lang)
        assert result.on("green"), lang
        assert 0 <= result.scores["sco"] < result.scores["green"] <= 1
        assert all(isinstance(term, str) for term, _ in result.why["green"])


def test_title_weighs_more_than_the_tail(classifier: Classifier) -> None:
    filler = "Совещание прошло в столице, участники обсудили планы. " * 8
    in_title = classifier.classify("Ветровая электростанция построена", filler)
    in_tail = classifier.classify("Совещание в столице", filler + "Ветровая электростанция.")
    assert in_title.scores["green"] > in_tail.scores["green"]


def test_a_passing_sco_mention_is_not_enough(classifier: Classifier) -> None:
    text = ("Депутаты обсудили бюджет на три года и налоговые поправки. Доходы бюджета вырастут. "
            "Расходы на образование увеличатся. Министр финансов ответил на вопросы депутатов. "
            "Следующее заседание пройдёт через неделю, сообщили в пресс-службе палаты. "
            "Ранее премьер-министр выступал на заседании ШОС.")
    passing = classifier.classify("Мажилис одобрил бюджет", text)
    about = classifier.classify("Премьер-министр выступил на заседании ШОС", text)
    assert not passing.on("sco") and about.on("sco")


def test_exclusions_speak_against_green(classifier: Classifier) -> None:
    title = "Синоптики: прогноз погоды на неделю"
    text = "Экологи советуют меньше ездить на машине в безветренную погоду."
    result = classifier.classify(title, text)
    assert not result.on("green")
    assert any(weight < 0 for _, weight in result.why["green"])


@pytest.mark.parametrize(
    ("lang", "title"),
    [
        ("ru", "Секретарь совета Шанхайской организации сотрудничества прибыл в Астану"),
        ("ru", "Лидеры ШОС встретились в Астане"),
        ("kk", "ШЫҰ-ның саммиті Астанада өтті"),
        ("kk", "Шанхай ынтымақтастық ұйымының саммиті өтті"),
        ("en", "SCO leaders met in Astana"),
        ("en", "The Shanghai Cooperation Organisation summit opened"),
    ],
)
def test_org_aliases_resolve_to_one_organisation(
    classifier: Classifier, lang: str, title: str
) -> None:
    assert classifier.classify(title, "", lang).orgs == {"sco": 1}


def test_gazetteer_names_in_three_languages() -> None:
    gazetteer = load_gazetteer(SEEDS)
    keys = [entry.key for entry in gazetteer.entries]
    assert len(keys) == len(set(keys))
    for key in ("sco", "sco_secretariat", "kz_ecology_ministry", "undp", "iea", "cnpc", "c40"):
        entry = gazetteer.get(key)
        assert entry is not None and set(entry.names) == {"ru", "kk", "en"}, key
    classifier = load_classifier(SEEDS, ner=False)
    for name in ("ПРООН", "UNDP", "БҰҰДБ", "Программы развития ООН"):
        assert classifier.orgs.resolve(name) == "undp", name
    for name in ("Министерства экологии и природных ресурсов", "МЭПР РК", "ҚР ЭТРМ"):
        assert classifier.orgs.resolve(name) == "kz_ecology_ministry", name


def test_ner_adds_organisations_outside_the_gazetteer_on_topic_items_only() -> None:
    classifier = load_classifier(SEEDS, ner=True)
    text = ("Участники форума, организованного Ассоциацией возобновляемой энергетики и компанией "
            "«Самрук-Энерго», обсудили строительство солнечных и ветровых электростанций. "
            "Эксперты Программы развития ООН представили доклад.")
    result = classifier.classify("Форум по ВИЭ прошёл в Астане", text, "ru")
    assert result.on("green")
    assert result.orgs["samruk_energy"] == 1 and result.orgs["undp"] == 1
    unknown = [key for key in result.orgs if classifier.orgs.gazetteer.get(key) is None]
    assert unknown == ["ассоциация-возобновлять-энергетика"]
    assert result.org_names[unknown[0]].startswith("Ассоциаци")  # as written, not a slug
    off_topic = classifier.classify("Ассоциация фермеров провела форум",
                                    "Ассоциация фермеров Казахстана обсудила цены на зерно.")
    assert off_topic.orgs == {}
