"""The national colloquial gold set is well formed, without building the national index.

Every label must resolve to a provision the ingest pipeline will index under the key it will
assign, in the current version of its law; otherwise a wrong label would read as a retrieval
miss in every run. Only the cited files are parsed (a few seconds), never embedded.
"""

from __future__ import annotations

import pytest

from eval.gold import GoldAnswer, GoldQuestion, load_gold
from eval.gold_national import corpus_dir, law_counts, names_statute, statute_names, verify

ROOT = corpus_dir()
pytestmark = pytest.mark.skipif(not ROOT.is_dir(), reason=f"national corpus not found at {ROOT}")


@pytest.fixture(scope="module")
def questions() -> list[GoldQuestion]:
    return load_gold("national")


@pytest.fixture(scope="module")
def checked(questions):
    return verify(questions, ROOT)


def test_every_label_resolves(checked):
    assert checked.problems == []


def test_size_and_spread(questions, checked):
    assert len(questions) >= 200
    assert len({q.id for q in questions}) == len(questions)
    assert len({q.query for q in questions}) == len(questions)
    titles = {d.title for d in checked.documents.values()}  # the 民法典's parts count once
    assert len(titles) >= 40
    assert len(law_counts(questions, checked.documents)) >= 40  # laws that are a question's first answer


def test_most_questions_name_no_statute(questions, checked):
    names = statute_names(checked.documents.values())
    assert {"劳动合同法", "中华人民共和国治安管理处罚法", "治安法", "处罚法", "民法典"} <= names
    without = [q for q in questions if not names_statute(q.query, names)]
    assert len(without) / len(questions) >= 0.8


def test_keys_are_the_pipelines(checked):
    docs = checked.documents
    assert docs["治安管理处罚法(2012-10-26).md"].key == "治安管理处罚法@2012-10-26"
    assert docs["物权编.md"].key.startswith("民法典·物权编@")


def test_checker_catches_bad_labels():
    bad = [GoldQuestion("x1", "q", "citizen", (GoldAnswer("妇女权益保障法(2018-10-26).md", "第一条"),)),
           GoldQuestion("x2", "q", "citizen", (GoldAnswer("妇女权益保障法(2022-10-30).md", "第九百条"),)),
           GoldQuestion("x3", "q", "citizen", (GoldAnswer("没有这部法(2020-01-01).md", "第一条"),))]
    problems = " | ".join(verify(bad, ROOT).problems)
    assert "newer version" in problems
    assert "no provision 第九百条" in problems
    assert "not in the corpus" in problems
