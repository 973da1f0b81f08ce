"""The audit log: every operator and admin action, who did it, when, to what, what changed."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from sqlalchemy import select
from sqlalchemy.engine import Engine

from desk.db import audit_log


class AuditLog:
    """Appends and reads audit entries (blocking; call through ``asyncio.to_thread``)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, actor: str, action: str, target: Optional[str], **details: Any) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                audit_log.insert().values(
                    at=datetime.now(timezone.utc).replace(tzinfo=None),
                    actor=actor,
                    action=action,
                    target=target,
                    details=json.dumps(details, ensure_ascii=False, default=str) if details else None,
                )
            )

    def entries(self, target: Optional[str] = None, limit: int = 200) -> List[Dict[str, Any]]:
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if target is not None:
            query = query.where(audit_log.c.target == target)
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            {
                "id": row["id"],
                "at": row["at"].replace(tzinfo=timezone.utc).isoformat(),
                "actor": row["actor"],
                "action": row["action"],
                "target": row["target"],
                "details": json.loads(row["details"]) if row["details"] else {},
            }
            for row in rows
        ]
