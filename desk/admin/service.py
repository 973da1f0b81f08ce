"""What the admin page and CLI do: annotate the queue, edit NLU data, train, evaluate, promote, roll back.

Every change is validated first and recorded in the audit log. One training job runs at a
time, in the background; its progress is stored on its registry row.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from sqlalchemy.engine import Engine

from desk.admin.evaluation import (
    EvaluationFailed,
    Labelled,
    compare,
    dispatch_test_examples,
    evaluate_in_thread,
    nlu_test_examples,
)
from desk.admin.nlu_data import Entity, Example, NluData, NluDataWriter
from desk.admin.registry import ModelRegistry, RasaModelClient, utcnow
from desk.admin.review import ReviewRepository
from desk.admin.training import (
    TrainingFailed,
    TrainingInputs,
    finetune_refusal,
    run_training,
    train_command,
)
from desk.admin.validation import (
    check_example,
    check_rasa_format,
    domain_names,
    raise_if_problems,
)
from desk.audit import AuditLog
from desk.dispatch.reviewed import add_reviewed_example
from desk.dispatch.training import data_dir_for
from desk.errors import Conflict, InvalidInput
from desk.settings import Settings

log = logging.getLogger(__name__)
# Entity types an admin may annotate besides the domain's: where the citizen's problem is.
LOCATION_ENTITIES = ("district", "street", "place")
MODES = ("auto", "full", "finetune")


@dataclass
class AdminConfig:
    inputs: TrainingInputs
    nlu_test: Path
    dispatch_data_dir: Optional[Path] = None
    keep_models: int = 5  # model files trained here kept besides the active and previous one


class AdminService:
    def __init__(
        self,
        config: AdminConfig,
        reviews: ReviewRepository,
        registry: ModelRegistry,
        rasa: RasaModelClient,
        audit: AuditLog,
        profile: Any = None,
    ) -> None:
        self.config = config
        self.reviews = reviews
        self.registry = registry
        self.rasa = rasa
        self.audit = audit
        self.profile = profile
        self.writer = NluDataWriter(config.inputs.nlu_dir)
        self._lock = asyncio.Lock()  # one NLU data change at a time
        self.job: Optional["asyncio.Task[None]"] = None
        self.job_model: Optional[str] = None  # the model `job` trains

    @classmethod
    def from_settings(
        cls, settings: Settings, engine: Engine, audit: AuditLog, profile: Any
    ) -> "AdminService":
        """The service as desk and the CLI run it, from desk's settings."""
        inputs = TrainingInputs(
            config=settings.rasa_config,
            domain=settings.rasa_domain,
            nlu_dir=settings.nlu_data_dir,
            core_data=settings.rasa_core_data if settings.rasa_core_data.exists() else None,
            out_dir=settings.models_dir,
        )
        config = AdminConfig(
            inputs=inputs,
            nlu_test=settings.nlu_test_data,
            dispatch_data_dir=settings.dispatch_data_dir or data_dir_for(settings.profile_path),
            keep_models=settings.admin_keep_models,
        )
        token = settings.rasa_token.get_secret_value() if settings.rasa_token else None
        return cls(
            config,
            ReviewRepository(engine),
            ModelRegistry(engine),
            RasaModelClient(settings.rasa_url, token),
            audit,
            profile,
        )

    # --- NLU data ----------------------------------------------------------------------
    def data(self) -> NluData:
        return NluData.load(self.config.inputs.nlu_dir)

    def vocabulary(self) -> Dict[str, List[str]]:
        intents, entities = domain_names(self.config.inputs.domain)
        lookups = sorted(self.data().lookups)
        scenarios = [f"{c}.{s}" for c, s, _ in self.profile.scenarios()] if self.profile is not None else []
        return {
            "intents": intents,
            "entities": sorted(set(entities) | set(LOCATION_ENTITIES) | set(lookups)),
            "scenarios": scenarios,
        }

    def example_from(self, body: Dict[str, Any]) -> Example:
        intent, text = body.get("intent"), body.get("text")
        if not isinstance(intent, str) or not isinstance(text, str):
            raise InvalidInput("需要 intent 和 text", {"fields": ["intent", "text"]})
        entities = []
        for raw in body.get("entities") or []:
            try:
                entities.append(
                    Entity(int(raw["start"]), int(raw["end"]), str(raw["entity"]), raw.get("value"))
                )
            except (KeyError, TypeError, ValueError):
                raise InvalidInput("实体须包含 start、end、entity", {"entity": raw}) from None
        text = text.strip()
        return Example(intent.strip(), text, tuple(entities))

    def _validate(self, example: Example, data: NluData, replacing: Optional[Example] = None) -> None:
        vocabulary = self.vocabulary()
        problems = check_example(data, example, vocabulary["intents"], vocabulary["entities"], replacing)
        raise_if_problems(problems or check_rasa_format(example))

    async def add_example(self, example: Example, actor: str, review_id: Optional[int] = None) -> str:
        async with self._lock:
            data = await asyncio.to_thread(self.data)
            self._validate(example, data)
            path = await asyncio.to_thread(self.writer.add_example, example)
        await self._audit(actor, "nlu.example.add", path, intent=example.intent, review=review_id)
        return path

    async def edit_example(self, intent: str, old_text: str, new: Optional[Example], actor: str) -> str:
        async with self._lock:
            data = await asyncio.to_thread(self.data)
            old = data.find(intent, old_text)
            if new is not None:
                self._validate(new, data, replacing=old)
            if new is not None and new.intent != old.intent:
                await asyncio.to_thread(self.writer.replace_example, old, None, data)
                path = await asyncio.to_thread(self.writer.add_example, new)
            else:
                path = await asyncio.to_thread(self.writer.replace_example, old, new, data)
        action = "nlu.example.delete" if new is None else "nlu.example.edit"
        await self._audit(actor, action, path, intent=intent)
        return path

    async def set_table(self, kind: str, name: str, examples: List[str], actor: str) -> str:
        if not name.strip() or "\n" in name or len(name) > 64:
            raise InvalidInput("名称须为一行，不超过 64 字", {"field": "name"})
        cleaned = sorted({e.strip() for e in examples if isinstance(e, str) and e.strip()})
        if any("\n" in e or len(e) > 100 for e in cleaned):
            raise InvalidInput("每个词条须为一行，不超过 100 字")
        async with self._lock:
            data = await asyncio.to_thread(self.data)
            if kind == "synonym":
                clash = [e for e in cleaned for v, items in data.synonyms.items() if v != name and e in items]
                if clash:
                    raise Conflict(f"「{clash[0]}」已是另一个同义词组的成员", {"entries": clash})
                path = await asyncio.to_thread(self.writer.set_synonym, name, cleaned)
            else:
                path = await asyncio.to_thread(self.writer.set_lookup, name, cleaned)
        await self._audit(actor, f"nlu.{kind}.set", path, name=name, entries=len(cleaned))
        return path

    # --- review queue ------------------------------------------------------------------
    async def resolve_review(self, item_id: int, body: Dict[str, Any], actor: str) -> Dict[str, Any]:
        action = body.get("action")
        item = await asyncio.to_thread(self.reviews.get, item_id)
        if item["status"] != "open":
            raise Conflict("该条目已处理过", {"id": item_id, "status": item["status"]})
        if action == "dismiss":
            resolution: Dict[str, Any] = {"action": "dismiss", "note": str(body.get("note") or "")[:200]}
            status = "dismissed"
        elif action == "annotate":
            if body.get("scenario"):
                self._scenario(str(body["scenario"]))
            example = self.example_from({**body, "text": body.get("text") or item["text"]})
            path = await self.add_example(example, actor, review_id=item_id)
            resolution = {"action": "annotate", **example.as_dict(), "file": path}
            if body.get("scenario"):
                resolution["scenario"] = self._scenario(str(body["scenario"]))
                if self.config.dispatch_data_dir is not None:  # the dispatcher learns it on retrain
                    written = await asyncio.to_thread(
                        add_reviewed_example,
                        self.config.dispatch_data_dir,
                        resolution["scenario"],
                        example.text,
                    )
                    resolution["dispatch_file"] = written.name
            status = "annotated"
        else:
            raise InvalidInput("action 须为 annotate 或 dismiss", {"action": action})
        resolved = await asyncio.to_thread(self.reviews.resolve, item_id, status, resolution, actor)
        await self._audit(actor, f"review.{action}", f"review:{item_id}", resolution=resolution)
        return resolved

    def _scenario(self, code: str) -> str:
        """A dispatch scenario code of the city profile ("noise.construction_night")."""
        category, _, scenario = code.partition(".")
        if self.profile is None or self.profile.scenario(category, scenario) is None:
            raise InvalidInput(f"城市配置中没有派单场景 {code}", {"field": "scenario"})
        return code

    # --- models ------------------------------------------------------------------------
    async def models(self) -> List[Dict[str, Any]]:
        running = await self.rasa.running_model()
        await asyncio.to_thread(self.registry.register_files, self.config.inputs.out_dir, running)
        return await asyncio.to_thread(self.registry.all)

    async def start_training(self, mode: str, actor: str) -> Dict[str, Any]:
        if mode not in MODES:
            raise InvalidInput("mode 须为 auto、full 或 finetune", {"mode": mode})
        if await self._training():
            raise Conflict("已有训练任务在进行，请等待完成")
        await self.models()
        base = await asyncio.to_thread(self.registry.active)
        refusal = await asyncio.to_thread(finetune_refusal, self.config.inputs, base)
        if mode == "finetune" and refusal:
            raise Conflict(f"不能增量训练：{refusal}", {"reason": refusal})
        finetune = mode != "full" and refusal is None
        model_id = time.strftime("rexian-admin-%Y%m%d-%H%M%S-", time.gmtime()) + secrets.token_hex(2)
        path = self.config.inputs.out_dir / f"{model_id}.tar.gz"
        fingerprint = await asyncio.to_thread(self.config.inputs.fingerprint)
        await asyncio.to_thread(
            self.registry.create,
            model_id,
            path,
            "finetune" if finetune else "full",
            base["id"] if base else None,
            actor,
            fingerprint,
        )
        await self._audit(actor, "model.train", model_id, mode=mode, finetune=finetune, reason=refusal)
        self.job = asyncio.create_task(
            self._train(model_id, Path(base["path"]) if finetune and base else None)
        )
        self.job_model = model_id
        return await asyncio.to_thread(self.registry.get, model_id)

    async def _training(self) -> bool:
        """Whether a model is still being trained. The registry decides, not the task: once a
        model reads as trained, a new training may start while the old task still prunes."""
        if self.job is None or self.job.done() or self.job_model is None:
            return False
        model = await asyncio.to_thread(self.registry.get, self.job_model)
        return bool(model["status"] == "training")

    async def _train(self, model_id: str, finetune: Optional[Path]) -> None:
        async def progress(value: float, stage: str) -> None:
            await asyncio.to_thread(self.registry.update, model_id, progress=value, stage=stage)

        inputs = self.config.inputs
        try:
            try:
                seconds = await run_training(train_command(inputs, model_id, finetune), progress)
            except TrainingFailed:
                if finetune is None:
                    raise
                log.warning("admin.model.finetune_failed id=%s: training from scratch", model_id)
                await asyncio.to_thread(
                    self.registry.update, model_id, mode="full", stage="增量训练失败，改为完整训练"
                )
                seconds = await run_training(train_command(inputs, model_id, None), progress)
            await asyncio.to_thread(self.registry.update, model_id, train_seconds=round(seconds, 1))
            await progress(0.9, "在保留测试集上评估")
            metrics = await self.evaluate(model_id)
            await progress(0.95, "评估当前使用的模型，以便对比")
            try:
                await self._evaluate_active()
            except EvaluationFailed:  # the new model is fine; the comparison will retry
                log.warning("admin.model.active_evaluation_failed")
            await asyncio.to_thread(
                self.registry.update,
                model_id,
                status="trained",
                progress=1.0,
                stage="完成",
                finished_at=utcnow(),
                metrics=metrics,
            )
            log.info("admin.model.trained id=%s seconds=%.1f", model_id, seconds)
            await self._prune()
        except (TrainingFailed, EvaluationFailed) as exc:
            detail = getattr(exc, "output", "") or str(exc)
            await asyncio.to_thread(
                self.registry.update,
                model_id,
                status="failed",
                stage=f"失败：{str(exc)[:80]}",
                finished_at=utcnow(),
                metrics={"error": detail[-4000:]},
            )
            log.warning("admin.model.failed id=%s", model_id)
        except asyncio.CancelledError:
            await asyncio.to_thread(self.registry.update, model_id, status="failed", stage="已取消")
            raise

    def _test_sets(self) -> "tuple[Labelled, Labelled]":
        nlu = nlu_test_examples(self.config.nlu_test) if self.config.nlu_test.exists() else []
        labelled = {text for text, _ in nlu}  # the intent test set decides what these are
        dispatch = dispatch_test_examples(self.config.dispatch_data_dir, self.profile)
        return nlu, [(text, intent) for text, intent in dispatch if text not in labelled]

    async def evaluate(self, model_id: str) -> Dict[str, Any]:
        model = await asyncio.to_thread(self.registry.get, model_id)
        nlu, dispatch = await asyncio.to_thread(self._test_sets)
        return await evaluate_in_thread(Path(model["path"]), nlu, dispatch)

    async def comparison(self, model_id: str) -> Dict[str, Any]:
        """The model beside the active one; evaluates the active one first if it never was."""
        candidate = await asyncio.to_thread(self.registry.get, model_id)
        active = await self._evaluate_active()
        result = compare(active["metrics"] if active else None, candidate["metrics"])
        return {"current": active["id"] if active else None, "candidate": model_id, **result}

    async def _evaluate_active(self) -> Optional[Dict[str, Any]]:
        """The active model, evaluated first if it never was (a model trained outside desk)."""
        active = await asyncio.to_thread(self.registry.active)
        if active is not None and active["metrics"] is None and Path(active["path"]).exists():
            active["metrics"] = await self.evaluate(active["id"])
            await asyncio.to_thread(self.registry.update, active["id"], metrics=active["metrics"])
        return active

    async def promote(self, model_id: str, actor: str, action: str = "promote") -> Dict[str, Any]:
        model = await asyncio.to_thread(self.registry.usable, model_id)
        previous = await asyncio.to_thread(self.registry.active)
        seconds = await self.rasa.swap(Path(model["path"]))
        await asyncio.to_thread(self.registry.mark_active, model_id)
        await self._audit(
            actor,
            f"model.{action}",
            model_id,
            previous=previous["id"] if previous else None,
            swap_seconds=round(seconds, 2),
        )
        await self._prune()
        return {**(await asyncio.to_thread(self.registry.get, model_id)), "swap_seconds": round(seconds, 3)}

    async def _prune(self) -> None:
        """About 80 MB a model: old ones go, their rows and figures stay (`ModelRegistry.prune`)."""
        try:
            pruned = await asyncio.to_thread(self.registry.prune, self.config.keep_models)
        except OSError as exc:  # a file that cannot go stays; the next prune tries again
            log.warning("admin.model.prune_failed error=%s", exc)
            return
        for model_id in pruned:
            log.info("admin.model.pruned id=%s", model_id)
            await self._audit("system", "model.pruned", model_id, keep=self.config.keep_models)

    async def rollback(self, model_id: str, actor: str) -> Dict[str, Any]:
        model = await asyncio.to_thread(self.registry.get, model_id)
        if model["status"] == "active":
            raise Conflict("该模型已在使用中", {"id": model_id})
        if model["promoted_at"] is None and model["mode"] != "external":
            raise Conflict("只能回滚到曾经上线过的模型", {"id": model_id})
        return await self.promote(model_id, actor, action="rollback")

    async def close(self) -> None:
        if self.job is not None and not self.job.done():
            self.job.cancel()
            try:
                await self.job
            except (asyncio.CancelledError, Exception):
                pass

    async def _audit(self, actor: str, action: str, target: Optional[str], **details: Any) -> None:
        await asyncio.to_thread(self.audit.record, actor, action, target, **details)
