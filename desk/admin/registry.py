"""The registry of Rasa models desk trained or found in the models directory, and Rasa's model API.

A model is ``training`` → ``trained`` (or ``failed``) → ``active`` when promoted; the model it
replaces becomes ``retired`` and can be rolled back to. Rasa swaps models with
``PUT /model {"model_file": path}``: the running server keeps serving, and conversations
continue because trackers live in the tracker store, not in the model.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

import aiohttp
from sqlalchemy import select
from sqlalchemy.engine import Engine

from desk.db import rasa_models
from desk.errors import Conflict, DeskError, NotFound

log = logging.getLogger(__name__)
RASA_TIMEOUT_S = 300  # loading a model can take a while on two cores


class RasaUnavailable(DeskError):
    status = 502
    code = "rasa_unavailable"


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _iso(value: Optional[datetime]) -> Optional[str]:
    return value.replace(tzinfo=timezone.utc).isoformat() if value else None


class ModelRegistry:
    """Rows of ``rasa_models`` (blocking; call through ``asyncio.to_thread``)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(
        self,
        model_id: str,
        path: Path,
        mode: str,
        base_id: Optional[str],
        actor: str,
        fingerprint: Dict[str, str],
        status: str = "training",
    ) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                rasa_models.insert().values(
                    id=model_id,
                    path=str(path),
                    status=status,
                    mode=mode,
                    base_id=base_id,
                    progress=0.0,
                    stage="排队中",
                    fingerprint=json.dumps(fingerprint),
                    created_at=utcnow(),
                    created_by=actor,
                )
            )

    def update(self, model_id: str, **values: Any) -> None:
        if "metrics" in values and not isinstance(values["metrics"], (str, type(None))):
            values["metrics"] = json.dumps(values["metrics"], ensure_ascii=False)
        with self._engine.begin() as conn:
            conn.execute(rasa_models.update().where(rasa_models.c.id == model_id).values(**values))

    def get(self, model_id: str) -> Dict[str, Any]:
        with self._engine.connect() as conn:
            row = conn.execute(select(rasa_models).where(rasa_models.c.id == model_id)).mappings().first()
        if row is None:
            raise NotFound(f"模型 {model_id} 不存在", {"id": model_id})
        return self._as_dict(row)

    def all(self) -> List[Dict[str, Any]]:
        with self._engine.connect() as conn:
            rows = (
                conn.execute(select(rasa_models).order_by(rasa_models.c.created_at.desc())).mappings().all()
            )
        return [self._as_dict(row) for row in rows]

    def active(self) -> Optional[Dict[str, Any]]:
        return next((m for m in self.all() if m["status"] == "active"), None)

    def register_files(self, models_dir: Path, active_file: Optional[str]) -> None:
        """Adds model files not trained here; marks the one Rasa runs (by file name) active."""
        known = {m["id"]: m for m in self.all()}
        for path in sorted(models_dir.glob("*.tar.gz")):
            model_id = path.name[: -len(".tar.gz")]
            if model_id not in known:
                self.create(model_id, path, "external", None, "system", {}, status="trained")
                self.update(model_id, progress=1.0, stage="已有模型文件", finished_at=utcnow())
        if active_file:
            running = Path(active_file).name
            running_id = running[: -len(".tar.gz")] if running.endswith(".tar.gz") else running
            current = self.active()
            if running_id in known or (models_dir / running).exists():
                if current is None or current["id"] != running_id:
                    self.mark_active(running_id)

    def mark_active(self, model_id: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                rasa_models.update().where(rasa_models.c.status == "active").values(status="retired")
            )
            conn.execute(
                rasa_models.update()
                .where(rasa_models.c.id == model_id)
                .values(status="active", promoted_at=utcnow())
            )

    def prune(self, keep: int) -> List[str]:
        """Deletes the files of models trained here beyond the `keep` newest, never the active
        one, the last one that was (the rollback target) or one still training; their rows
        stay, marked ``pruned``. Files not trained here (``external``: `make run`'s model)
        are never touched. Returns the pruned ids."""
        models = self.all()  # newest first
        previous = max(
            (m for m in models if m["status"] == "retired" and m["promoted_at"]),
            key=lambda m: m["promoted_at"],
            default=None,
        )
        spare = [
            m
            for m in models
            if m["status"] in ("trained", "retired")
            and m["mode"] != "external"
            and (previous is None or m["id"] != previous["id"])
        ]
        pruned = []
        for model in spare[max(0, keep) :]:
            Path(model["path"]).unlink(missing_ok=True)
            self.update(model["id"], status="pruned", stage=f"模型文件已清理（保留最近 {keep} 个）")
            pruned.append(model["id"])
        return pruned

    def usable(self, model_id: str) -> Dict[str, Any]:
        model = self.get(model_id)
        if model["status"] == "pruned":
            raise Conflict(f"模型 {model_id} 的文件已清理，不能启用", {"status": "pruned"})
        if model["status"] not in ("trained", "retired", "active"):
            raise Conflict(
                f"模型 {model_id} 当前状态为 {model['status']}，不能启用", {"status": model["status"]}
            )
        if not Path(model["path"]).exists():
            raise Conflict(f"模型文件 {model['path']} 不存在", {"path": model["path"]})
        return model

    @staticmethod
    def _as_dict(row: Any) -> Dict[str, Any]:
        return {
            "id": row["id"],
            "path": row["path"],
            "status": row["status"],
            "mode": row["mode"],
            "base_id": row["base_id"],
            "progress": row["progress"],
            "stage": row["stage"],
            "fingerprint": json.loads(row["fingerprint"]) if row["fingerprint"] else {},
            "metrics": json.loads(row["metrics"]) if row["metrics"] else None,
            "created_at": _iso(row["created_at"]),
            "finished_at": _iso(row["finished_at"]),
            "train_seconds": row["train_seconds"],
            "promoted_at": _iso(row["promoted_at"]),
            "created_by": row["created_by"],
        }


class RasaModelClient:
    """Rasa's HTTP API: which model runs (``GET /status``) and swapping it (``PUT /model``)."""

    def __init__(self, base_url: str, token: Optional[str] = None) -> None:
        self._base = base_url.rstrip("/")
        self._params = {"token": token} if token else {}

    async def running_model(self) -> Optional[str]:
        """The model file Rasa serves, or None when Rasa does not answer."""
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
                async with session.get(f"{self._base}/status", params=self._params) as response:
                    if response.status != 200:
                        return None
                    body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None
        return body.get("model_file") if isinstance(body, dict) else None

    async def swap(self, model_path: Path) -> float:
        """Loads ``model_path`` in the running Rasa; returns the seconds the swap took."""
        started = time.perf_counter()
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=RASA_TIMEOUT_S)) as session:
                async with session.put(
                    f"{self._base}/model", json={"model_file": str(model_path)}, params=self._params
                ) as response:
                    if response.status not in (200, 204):
                        detail = (await response.text())[:500]
                        raise RasaUnavailable(
                            f"Rasa 拒绝加载模型（HTTP {response.status}）", {"detail": detail}
                        )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(f"无法连接 Rasa（{self._base}）：{exc}") from None
        elapsed = time.perf_counter() - started
        log.info("admin.model.swapped seconds=%.2f", elapsed)
        return elapsed
