"""Trains a Rasa model in the background: ``rasa train`` as a subprocess, progress from its output.

``rasa train`` first runs Rasa's data validation over config, domain, stories and NLU data (a
validation error fails the run). Fine-tuning (``--finetune <base> --epoch-fraction``) is used
when the change allows it: same config, same domain and the same set of intents as the model
being fine-tuned; Rasa refuses anything else, in which case the job trains from scratch.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable, Dict, List, Optional

from desk.admin.nlu_data import NluData

log = logging.getLogger(__name__)
RASA = str(Path(sys.executable).with_name("rasa"))
FINETUNE_EPOCH_FRACTION = 0.5
_EPOCHS = re.compile(r"Epochs:\s+(\d+)%")
_STAGES = (  # (text in Rasa's output, progress, stage shown to the admin)
    ("Started validating domain and training data", 0.03, "校验训练数据"),
    ("Starting to train component 'CountVectorsFeaturizer'", 0.08, "提取特征"),
    ("Starting to train component 'DIETClassifier'", 0.1, "训练意图分类器"),
    ("Starting to train component 'MemoizationPolicy'", 0.8, "训练对话策略"),
    ("Your Rasa model is trained and saved", 0.85, "模型已保存"),
)
Progress = Callable[[float, str], Awaitable[None]]


@dataclass(frozen=True)
class TrainingInputs:
    config: Path
    domain: Path
    nlu_dir: Path
    core_data: Optional[Path]
    out_dir: Path

    def fingerprint(self) -> Dict[str, str]:
        """What must stay equal for fine-tuning (config, domain, the set of intents), and the
        characters the model has seen: fine-tuning keeps the featurizers' vocabulary, so an
        example with a character the base model never saw cannot be learnt that way."""
        data = NluData.load(self.nlu_dir)
        return {
            "config": _digest(self.config.read_bytes()),
            "domain": _digest(self.domain.read_bytes()),
            "intents": _digest(",".join(data.intents()).encode()),
            "chars": "".join(sorted({ch for example in data.examples for ch in example.text})),
        }


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def finetune_refusal(inputs: TrainingInputs, base: Optional[Dict]) -> Optional[str]:
    """Why fine-tuning ``base`` is not possible (Chinese), or None when it is."""
    if base is None:
        return "没有正在使用的模型可供增量训练"
    if not Path(base["path"]).exists():
        return f"基础模型文件 {base['path']} 不存在"
    known = base.get("fingerprint") or {}
    if not known:
        return "基础模型不是在管理后台训练的，无法确认配置是否相同"
    current = inputs.fingerprint()
    changed = [name for name in ("config", "domain", "intents") if known.get(name) != current[name]]
    labels = {"config": "模型配置", "domain": "对话领域", "intents": "意图集合"}
    if changed:
        return "、".join(labels[name] for name in changed) + " 已改变，需要完整训练"
    unseen = sorted(set(current["chars"]) - set(known.get("chars", "")))
    if unseen:
        return f"新例句含有基础模型没见过的字（{''.join(unseen[:10])}），增量训练学不到，需要完整训练"
    return None


def train_command(inputs: TrainingInputs, model_id: str, finetune: Optional[Path]) -> List[str]:
    data = [str(inputs.nlu_dir)] + ([str(inputs.core_data)] if inputs.core_data else [])
    command = [
        RASA,
        "train",
        "--config",
        str(inputs.config),
        "--domain",
        str(inputs.domain),
        "--data",
        *data,
        "--out",
        str(inputs.out_dir),
        "--fixed-model-name",
        model_id,
    ]
    if finetune is not None:
        command += ["--finetune", str(finetune), "--epoch-fraction", str(FINETUNE_EPOCH_FRACTION)]
    return command


class TrainingFailed(Exception):
    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


class ProgressParser:
    """Turns ``rasa train`` output lines into a progress figure (0..0.85) and a stage name."""

    def __init__(self) -> None:
        self.progress = 0.0
        self.stage = "启动训练"

    def feed(self, line: str) -> bool:
        """True when the line moved the progress on."""
        for marker, value, stage in _STAGES:
            if marker in line and value > self.progress:
                self.progress, self.stage = value, stage
                return True
        epochs = _EPOCHS.search(line)
        if epochs and self.progress < 0.8:
            value = round(0.1 + 0.7 * int(epochs.group(1)) / 100, 3)
            if value >= self.progress + 0.02:
                self.progress, self.stage = value, f"训练意图分类器（{epochs.group(1)}%）"
                return True
        return False


async def run_training(command: List[str], progress: Progress, cwd: Optional[Path] = None) -> float:
    """Runs ``rasa train``; reports progress (0..0.85); returns seconds; raises TrainingFailed."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=str(cwd) if cwd else None,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    tail: List[str] = []
    parser = ProgressParser()
    try:
        assert process.stdout is not None
        buffer = ""
        while True:
            chunk = await process.stdout.read(4096)
            if not chunk:
                break
            buffer += chunk.decode("utf-8", errors="replace")
            *lines, buffer = re.split(r"[\r\n]", buffer)
            for line in lines:
                if line.strip():
                    tail = (tail + [line])[-60:]
                if parser.feed(line):
                    await progress(parser.progress, parser.stage)
        code = await process.wait()
    except asyncio.CancelledError:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    if code != 0:
        raise TrainingFailed(f"rasa train 退出码 {code}", "\n".join(tail))
    return time.perf_counter() - started
