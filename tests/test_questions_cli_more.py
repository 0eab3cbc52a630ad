"""`kb questions generate --type/-n/--llm` and `kb scenarios validate`, run through kb.cli's
main() over a real index of the laws the shipped drills cite and a real SQLite database."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from eval.llm_server import FakeLLM, question_writer
from kb.cli import main
from kb.config import load_settings
from kb.records.db import session_factory
from kb.records.questions import list_questions, to_model
from tests.conftest import EMBED_CACHE, ROOT, make_settings, sample
from tests.test_quiz_drills import DRILL_LAWS

SCENARIOS = ROOT / "corpus" / "scenarios"
SEAL = "04-seal-and-seize.yaml"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> Path:
    """A data folder holding the eight laws the drills cite (vectors from the shared cache)."""
    from ingest.pipeline import Ingestor

    settings = make_settings(tmp_path_factory.mktemp("cli_laws"))
    ingestor = Ingestor(settings)
    report = ingestor.ingest([sample(n) for n in DRILL_LAWS])
    ingestor.close()
    assert not report.failed, report.failed
    return settings.data_dir


@pytest.fixture
def data(indexed, tmp_path) -> Path:
    """A private copy of the index, so each test starts with an empty question bank."""
    copy = tmp_path / "data"
    shutil.copytree(indexed, copy)
    return copy


@pytest.fixture
def kb(monkeypatch, capsys, tmp_path):
    """Run `kb …` in-process against a data folder; returns (exit code, stdout, stderr)."""
    for name in ("KB_LLM_BASE_URL", "KB_LLM_MODEL", "KB_LLM_API_KEY", "KB_DATABASE_URL", "KB_QDRANT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KB_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("KB_EMBED_CACHE", str(EMBED_CACHE))

    def run(data: Path, *argv: str, **env: str) -> tuple[int, str, str]:
        monkeypatch.setenv("KB_DATA_DIR", str(data))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def bank(data: Path):
    with session_factory(load_settings(data_dir=data))() as session:
        return [to_model(q) for q in list_questions(session)]


def test_type_and_count_cap_what_is_generated(kb, data):
    code, out, err = kb(data, "questions", "generate", "--doc", "行政处罚法", "--type", "判断", "-n", "5")
    assert code == 0, err
    assert out.startswith("generated 5 questions")
    held = bank(data)
    assert len(held) == 5 and {q.qtype for q in held} == {"judge"} and {q.state for q in held} == {"draft"}
    assert {q.sources[0].doc_key for q in held} == {"行政处罚法@2021-01-22"}
    code, out, _ = kb(data, "questions", "generate", "--type", "blank", "--type", "单选", "--count", "4")
    assert code == 0 and out.startswith("generated 4 questions")
    added = [q for q in bank(data) if q.qtype != "judge"]
    assert len(added) == 4 and {q.qtype for q in added} == {"blank", "single"}  # round-robin over types
    assert len({q.sources[0].doc_key for q in added}) > 1  # …and over documents
    code, listing, _ = kb(data, "questions", "list", "--state", "draft")
    assert code == 0 and len([line for line in listing.splitlines() if "\t判断\t" in line]) == 5


def test_llm_generation_through_the_cli(kb, data):
    with FakeLLM(responder=question_writer) as server:
        code, out, err = kb(data, "questions", "generate", "--llm", "--doc", "处罚法", "--type", "判断", "-n", "3",
                            KB_LLM_BASE_URL=server.url, KB_LLM_MODEL=server.model, KB_LLM_TIMEOUT="5")
        calls = len([r for r in server.requests if r.method == "POST"])
    assert code == 0, err
    assert out.startswith("generated 3 questions") and f"{calls} calls to fake-qwen, 0 failed" in err
    held = bank(data)
    assert len(held) == 3
    assert {(q.qtype, q.author, q.state) for q in held} == {("judge", "llm:fake-qwen", "draft")}
    assert all(q.sources[0].doc_key == "行政处罚法@2021-01-22" and q.sources[0].text_hash for q in held)


def test_llm_without_a_configured_llm_is_a_clear_error(kb, data):
    code, out, err = kb(data, "questions", "generate", "--llm", "--type", "单选")
    assert code == 1 and out == ""
    assert "未配置大模型" in err and "no LLM configured" in err and "KB_LLM_BASE_URL" in err
    assert not (data / "records.sqlite").exists() or bank(data) == []


@pytest.mark.parametrize(("argv", "message"), [
    (["--type", "情景"], "题型只能是 单选/多选/判断/填空"),
    (["-n", "0"], "expected a positive whole number"),
])
def test_bad_arguments_are_usage_errors(kb, data, capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        kb(data, "questions", "generate", *argv)
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_the_shipped_scenarios_validate(kb, indexed):
    code, out, err = kb(indexed, "scenarios", "validate", str(SCENARIOS))
    files = len(list(SCENARIOS.glob("*.yaml")))
    assert code == 0, out + err
    assert re.search(rf"^\d+ drills in {files} files are valid", out, re.M)


def test_a_drill_citing_a_missing_article_fails_naming_file_line_and_field(kb, indexed, tmp_path):
    text = (SCENARIOS / SEAL).read_text(encoding="utf-8")
    victim = tmp_path / SEAL
    victim.write_text(text.replace("article: 第二十五条", "article: 第二百五十条", 1), encoding="utf-8")
    line = text.splitlines().index("        article: 第二十五条") + 1
    step = text[:text.index("article: 第二十五条")].count("  - prompt:")
    code, out, _ = kb(indexed, "scenarios", "validate", str(SCENARIOS / "01-food-spot-check.yaml"), str(victim))
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"{victim}:{line}: steps[{step}].provisions[1].article: cited provision not found")
    assert "第二百五十条" in lines[0]
    assert lines[1].strip().startswith(f"第 {line} 行 · 第 {step} 步 · 依据条文 1 · 条：找不到引用的条文")
    assert len(lines) == 2  # the good file beside it has nothing to report


def test_no_drill_files_is_an_error(kb, indexed, tmp_path):
    code, _, err = kb(indexed, "scenarios", "validate", str(tmp_path))
    assert code == 1 and "no drill files" in err
