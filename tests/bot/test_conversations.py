"""Conversation-level checks of the trained model with Rasa's own test tools."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RASA = str(Path(sys.executable).with_name("rasa"))
sys.path.insert(0, str(ROOT / "scripts"))
from model import TRAINING_DATA_ARGS, ensure_model  # noqa: E402

MIN_INTENT_F1 = 0.85
MIN_VARIANT_F1 = 0.7


@pytest.fixture(scope="module")
def model() -> Path:
    return ensure_model()


def rasa(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([RASA, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_training_data_is_consistent():
    result = rasa("data", "validate", *TRAINING_DATA_ARGS)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_conversation_stories_pass(model, tmp_path):
    result = rasa(
        "test",
        "core",
        "--model",
        str(model),
        "--stories",
        "tests/conversations",
        "--out",
        str(tmp_path),
        "--fail-on-prediction-errors",
    )
    failed = tmp_path / "failed_test_stories.yml"
    detail = failed.read_text(encoding="utf-8") if failed.exists() else result.stderr[-3000:]
    assert result.returncode == 0, detail


def _intent_f1(model: Path, messages: str, out: Path) -> tuple:
    result = rasa("test", "nlu", "--model", str(model), "--nlu", messages, "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / "intent_report.json").read_text(encoding="utf-8"))
    weak = {
        intent: round(scores["f1-score"], 2)
        for intent, scores in report.items()
        if isinstance(scores, dict) and "support" in scores and scores.get("f1-score", 1) < 0.7
    }
    return report["weighted avg"]["f1-score"], weak


def test_intents_of_held_out_messages(model, tmp_path):
    f1, weak = _intent_f1(model, "tests/nlu/test_nlu.yml", tmp_path)
    print(f"held-out intent F1 (weighted): {f1:.3f}")
    assert f1 >= MIN_INTENT_F1, f"intent F1 {f1:.3f} < {MIN_INTENT_F1}; weak intents: {weak}"


def test_intents_of_traditional_and_dialect_messages(model, tmp_path):
    """Read raw, these scored 0.54 (the tokenizer now reads them as the desk does)."""
    f1, weak = _intent_f1(model, "tests/nlu/test_nlu_variants.yml", tmp_path)
    print(f"traditional and dialect intent F1 (weighted): {f1:.3f}")
    assert f1 >= MIN_VARIANT_F1, f"intent F1 {f1:.3f} < {MIN_VARIANT_F1}; weak intents: {weak}"


def test_a_picture_or_a_location_is_an_answer_whatever_its_url(model):
    import asyncio

    from rasa.core.agent import Agent

    agent = Agent.load(str(model))

    async def intents() -> list:
        texts = [
            f"[图片] http://127.0.0.1:{port}/uploads/{name}.png"
            for port, name in [(8000, "3f9a0c1e2b"), (41237, "Zk3-9aQ_x1"), (5005, "askpolicy_what")]
        ]
        texts.append("我的位置：城东区幸福小区（纬度30.1，经度120.2）")
        return [(await agent.parse_message(t))["intent"]["name"] for t in texts]

    assert asyncio.run(intents()) == ["inform"] * 4
