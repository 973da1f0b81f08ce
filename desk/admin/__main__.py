"""Command line of desk's admin side: validate, train, evaluate, compare, promote, roll back.

Reads the same environment as desk (DATABASE_URL, NLU_DATA_DIR, MODELS_DIR, RASA_URL, ...), so
models it trains appear on the admin page and the other way round. Usage::

    python -m desk.admin validate [--no-rasa]     # our checks, then `rasa data validate`
    python -m desk.admin train [--mode auto|full|finetune]
    python -m desk.admin list
    python -m desk.admin active                    # path of the promoted model (for run_stack)
    python -m desk.admin evaluate MODEL_ID
    python -m desk.admin compare MODEL_ID          # beside the model Rasa runs now
    python -m desk.admin promote MODEL_ID          # Rasa's PUT /model, no restart
    python -m desk.admin rollback MODEL_ID
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import subprocess
import sys
from typing import Any, List, Optional

from desk.admin.service import AdminService
from desk.admin.training import RASA
from desk.admin.validation import Problem, check_dataset, check_token_boundaries, domain_names
from desk.audit import AuditLog
from desk.city.profile import load_profile
from desk.db import make_engine, migrate
from desk.errors import DeskError
from desk.settings import Settings


def _problems(service: AdminService) -> List[Problem]:
    data = service.data()
    intents, _ = domain_names(service.config.inputs.domain)
    problems = check_dataset(data)
    for example in data.examples:
        if example.intent not in intents:
            problems.append(
                Problem("unknown_intent", f"{example.file}：意图 {example.intent} 不在 domain 中", {})
            )
        problems.extend(check_token_boundaries(example.text, example.entities))
    return problems


def validate(service: AdminService, with_rasa: bool) -> int:
    problems = _problems(service)
    for problem in problems:
        print(f"✗ {problem.message}")
    if not problems:
        print(f"✓ {len(service.data().examples)} 条例句：没有重复、冲突或与分词边界不一致的实体")
    if not with_rasa:
        return 1 if problems else 0
    inputs = service.config.inputs
    data = [str(inputs.nlu_dir)] + ([str(inputs.core_data)] if inputs.core_data else [])
    command = [RASA, "data", "validate", "--config", str(inputs.config), "--domain", str(inputs.domain)]
    result = subprocess.run([*command, "--data", *data], capture_output=True, text=True)
    print(
        "✓ rasa data validate 通过"
        if result.returncode == 0
        else result.stdout[-3000:] + result.stderr[-3000:]
    )
    return 1 if problems or result.returncode != 0 else 0


async def train(service: AdminService, mode: str, actor: str) -> int:
    model = await service.start_training(mode, actor)
    print(f"训练 {model['id']}（{'增量' if model['mode'] == 'finetune' else '完整'}）")
    last = ""
    while service.job is not None and not service.job.done():
        current = await asyncio.to_thread(service.registry.get, model["id"])
        line = f"  {current['progress'] * 100:5.1f}%  {current['stage']}"
        if line != last:
            print(line, flush=True)
            last = line
        await asyncio.sleep(1)
    done = await asyncio.to_thread(service.registry.get, model["id"])
    if done["status"] != "trained":
        print(f"失败：{done['stage']}\n{(done['metrics'] or {}).get('error', '')}")
        return 1
    _print_metrics(done)
    return 0


def _print_metrics(model: dict) -> None:
    metrics = model["metrics"] or {}
    print(
        f"{model['id']}: 训练 {model['train_seconds']} 秒；意图 F1 {metrics.get('intent_f1')}，"
        f"派单测试集进入投诉流程 {metrics.get('dispatch_accuracy')}"
    )


async def run(args: argparse.Namespace, service: AdminService) -> Any:
    actor = f"cli:{getpass.getuser()}"
    if args.command == "validate":
        return validate(service, not args.no_rasa)
    if args.command == "train":
        return await train(service, args.mode, actor)
    if args.command == "list":
        for model in await service.models():
            f1 = (model["metrics"] or {}).get("intent_f1")
            print(f"{model['status']:8} {model['mode']:8} {model['id']}  F1={f1}")
        return 0
    if args.command == "active":
        active = await asyncio.to_thread(service.registry.active)
        if active is None:
            return 1
        if getattr(args, "json", False):
            promoted = active.get("promoted_at")
            print(
                json.dumps({"path": str(active["path"]), "promoted_at": str(promoted) if promoted else None})
            )
        else:
            print(active["path"])
        return 0
    if args.command == "evaluate":
        metrics = await service.evaluate(args.model)
        await asyncio.to_thread(service.registry.update, args.model, metrics=metrics)
        _print_metrics(await asyncio.to_thread(service.registry.get, args.model))
        return 0
    if args.command == "compare":
        await service.models()
        result = await service.comparison(args.model)
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    action = service.promote if args.command == "promote" else service.rollback
    model = await action(args.model, actor)
    print(f"Rasa 已切换到 {model['id']}，用时 {model['swap_seconds']:.2f} 秒")
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="python -m desk.admin", description="Rexian 管理：校验、训练、评估、上线"
    )
    commands = main.add_subparsers(dest="command", required=True)
    check = commands.add_parser("validate", help="校验 NLU 训练数据")
    check.add_argument("--no-rasa", action="store_true", help="只做本地检查，不运行 rasa data validate")
    training = commands.add_parser("train", help="训练新模型并在保留测试集上评估")
    training.add_argument("--mode", choices=("auto", "full", "finetune"), default="auto")
    commands.add_parser("list", help="列出模型")
    active_cmd = commands.add_parser(
        "active", help="打印上线中的模型文件路径（没有则退出码 1），供启动脚本加载"
    )
    active_cmd.add_argument("--json", action="store_true", help="输出 {path, promoted_at}")
    for name in ("evaluate", "compare", "promote", "rollback"):
        commands.add_parser(name).add_argument("model")
    return main


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings()  # type: ignore[call-arg]  # values come from the environment
    engine = make_engine(settings.database_url)
    migrate(engine)
    service = AdminService.from_settings(
        settings, engine, AuditLog(engine), load_profile(settings.profile_path)
    )
    try:
        return int(asyncio.run(run(args, service)) or 0)
    except DeskError as exc:
        print(f"错误：{exc.message}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
