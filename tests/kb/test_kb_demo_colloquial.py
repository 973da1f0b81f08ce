"""The demo city's own corpus with embeddings, on long colloquial questions (issue #4).

The question sets are the ones the confidence weights were fitted on, so the bars below are
regression guards, not accuracy claims: held-out figures are in the README (`make eval`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterator

import pytest

from desk.kb.engine import KnowledgeBase
from desk.kb.evaluate import load_questions, metrics, run
from desk.settings import ROOT
from tests.kb.conftest import embedded_kb

DEMO_KB = ROOT / "desk" / "city" / "shifan" / "kb"
QUESTIONS = ROOT / "desk" / "city" / "shifan" / "kb_train_colloquial.yml"
TODAY = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def demo_full_kb() -> Iterator[KnowledgeBase]:
    yield embedded_kb(DEMO_KB)


def test_long_colloquial_questions_on_the_demo_corpus(demo_full_kb: KnowledgeBase) -> None:
    questions = load_questions(QUESTIONS)

    figures = metrics(run(demo_full_kb, questions, questions.today or TODAY))

    # At the time of fitting: top-1 0.9, refusal 0.8 (30 of its 40 are near-topic).
    assert figures["top1"] >= 0.85
    assert figures["refusal"] >= 0.75


def test_a_long_question_is_not_refused_for_its_length(demo_full_kb: KnowledgeBase) -> None:
    question = "俺是从安徽过来送快递的 来这边才俩月 住的城中村 居住证现在能办了不"

    answer = demo_full_kb.answer(question, today=TODAY)

    assert answer.sources and "juzhuzheng" in answer.sources[0]["id"]
    assert answer.evidence["log_length"] > 3.0


def test_refusals_stay_without_a_source(demo_full_kb: KnowledgeBase) -> None:
    for question in ["今天大盘跌成这样 手里的股票要不要割肉", "娃的数学作业 鸡兔同笼那道题咋算 急"]:
        assert demo_full_kb.answer(question, today=TODAY).sources == []


def test_question_file_exists() -> None:
    assert Path(QUESTIONS).is_file()
