"""`newsbot classify` and `newsbot learn`, run as a user runs them (no database, no network)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from bot.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _newsbot(*args: str, stdin: str = "", cwd: Path,
             hash_seed: str = "0") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SEEDS_DIR": str(ROOT / "seeds"),
           "PYTHONHASHSEED": hash_seed,
           "DATABASE_URL": f"sqlite+aiosqlite:///{cwd / 'never-created.db'}"}
    env.pop("BOT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", *args],
        input=stdin, capture_output=True, text=True, cwd=cwd, env=env, timeout=120,
    )


def test_classify_answers_every_line_in_order_and_reports_bad_ones(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "a1", "title": "Саммит ШОС открылся в Астане",
                    "text": "Лидеры государств-членов Шанхайской организации сотрудничества "
                            "обсудили охрану окружающей среды и изменение климата.",
                    "lang": "ru"}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": 7, "title": "Без текста"}),
        json.dumps(["a", "list"]),
        json.dumps({"title": "no id", "text": "x"}),
        json.dumps({"id": "e1", "title": "Kazakhstan wins at football", "text": "A 2-0 win."}),
        json.dumps({"id": "k1", "title": "Күн электр станциясы іске қосылды",
                    "text": "Жаңартылатын энергия көздерінің үлесі өсті.", "lang": "kk"},
                   ensure_ascii=False),
    ]
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = _newsbot("classify", "--input", str(path), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(out) == len(lines)
    first = out[0]
    assert first["id"] == "a1" and sorted(first["topics"]) == ["green", "sco"]
    assert set(first["scores"]) == {"green", "sco"}
    assert all(0 <= score <= 1 for score in first["scores"].values())
    assert "ШОС" in first["why"]["sco"] and "изменение климата" in first["why"]["green"]
    assert "ШОС" in first["orgs"]
    assert out[1] == {"line": 2, "id": None, "error": out[1]["error"]}
    assert "JSON" in out[1]["error"]
    assert out[2]["line"] == 3 and out[2]["id"] == 7 and "text" in out[2]["error"]
    assert out[3]["line"] == 4 and "object" in out[3]["error"]
    assert out[4]["line"] == 5 and "id" in out[4]["error"]
    assert out[5] == {"id": "e1", "topics": [], "scores": {"green": 0.0, "sco": 0.0},
                      "why": {"green": [], "sco": []}, "orgs": []}
    assert out[6]["topics"] == ["green"]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "never-created.db").exists()


def test_the_same_items_get_the_same_answer_in_every_process(tmp_path: Path) -> None:
    """Nothing depends on set or dict order (which Python's hash seed changes per process)."""
    items = "\n".join(json.dumps(item, ensure_ascii=False) for item in (
        {"id": "kk", "title": "ШЫҰ саммиті Астанада өтеді",
         "text": "Шанхай ынтымақтастық ұйымы саммитіне дайындық басталды. Саммит шілдеде."},
        {"id": "ru", "title": "Саммит ШОС: зелёная энергетика и климат",
         "text": "На саммите ШОС обсудили возобновляемые источники энергии и выбросы."},
    ))
    answers = {_newsbot("classify", "--input", "-", stdin=items, cwd=tmp_path,
                        hash_seed=seed).stdout for seed in ("1", "2")}
    assert len(answers) == 1 and answers.pop().count('"id"') == 2


def test_classify_reads_stdin_and_succeeds_on_good_input(monkeypatch, capsys) -> None:
    line = json.dumps({"id": 1, "title": "SCO summit", "text": "SCO member states met."})
    monkeypatch.setattr(sys, "stdin", io.StringIO(line + "\n"))
    assert main(["classify", "--input", "-", "--no-ner"]) == 0
    assert json.loads(capsys.readouterr().out)["topics"] == ["sco"]


def test_learn_prints_each_topics_strongest_terms(capsys) -> None:
    assert main(["learn", "--top", "5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("green (")
    assert "\nsco (" in out
    assert "низкоуглеродных технологий" in out
