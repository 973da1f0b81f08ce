"""python -m desk.admin (scripts/rexian_admin.py): validate, train, list, promote from a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from desk.admin.__main__ import main


@pytest.fixture
def cli_env(project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("NLU_DATA_DIR", str(project["nlu"]))
    monkeypatch.setenv("MODELS_DIR", str(project["models"]))
    monkeypatch.setenv("RASA_URL", "http://127.0.0.1:9")  # nothing listens: Rasa is down
    return project["nlu"]


def test_validate_reports_conflicts_across_files(cli_env: Path, capsys):
    assert main(["validate", "--no-rasa"]) == 0
    assert "没有重复、冲突" in capsys.readouterr().out
    (cli_env / "reviewed").mkdir()
    (cli_env / "reviewed" / "complain.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: complain\n  examples: |\n'
        "    - 谢谢\n"
        "    - [东湖街](street)道路灯坏了\n",
        encoding="utf-8",
    )
    assert main(["validate", "--no-rasa"]) == 1
    out = capsys.readouterr().out
    assert "冲突" in out and "nlu.yml（thank）" in out and "reviewed/complain.yml（complain）" in out
    assert "东湖街" in out and "结巴分词" in out


def test_train_prints_progress_and_figures_and_promote_needs_rasa(cli_env, fake_rasa_cli, capsys):
    assert main(["train", "--mode", "full"]) == 0
    out = capsys.readouterr().out
    assert "完整" in out and "意图 F1 1.0" in out
    assert main(["list"]) == 0
    model_id = next(
        line.split()[-2] for line in capsys.readouterr().out.splitlines() if "rexian-admin" in line
    )
    assert main(["promote", model_id]) == 2
    assert "无法连接 Rasa" in capsys.readouterr().err
    assert main(["active"]) == 1  # nothing promoted yet
