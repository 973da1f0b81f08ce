"""TicketRepository: the only code that reads and writes ticket tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List, Optional

from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import Connection, Engine

from desk.db import dispatch_corrections, ticket_counters, ticket_history, tickets
from desk.dispatch.dataset import Example

Row = Dict[str, Any]


class TicketRepository:
    """Synchronous storage of tickets; callers run it in a worker thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def insert(self, prefix: str, day: str, row: Row, history: List[Row]) -> str:
        """Stores a new ticket under the next number of ``day``; returns its id."""
        with self._engine.begin() as conn:
            number = self._next_number(conn, day)
            ticket_id = f"{prefix}{day}{number:04d}"
            conn.execute(insert(tickets).values(id=ticket_id, **row))
            for entry in history:
                conn.execute(insert(ticket_history).values(ticket_id=ticket_id, **entry))
        return ticket_id

    @staticmethod
    def _next_number(conn: Connection, day: str) -> int:
        # Both SQLite and PostgreSQL know ON CONFLICT; the UPDATE then locks the
        # day's row, so concurrent writers get distinct numbers.
        conn.execute(
            text("INSERT INTO ticket_counters (day, last) VALUES (:day, 0) ON CONFLICT (day) DO NOTHING"),
            {"day": day},
        )
        conn.execute(
            update(ticket_counters)
            .where(ticket_counters.c.day == day)
            .values(last=ticket_counters.c.last + 1)
        )
        return conn.execute(select(ticket_counters.c.last).where(ticket_counters.c.day == day)).scalar_one()

    def update(self, ticket_id: str, values: Row, history: Row, correction: Optional[Row] = None) -> bool:
        """Applies an operator's change with its history entry; False if no such ticket."""
        with self._engine.begin() as conn:
            changed = conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(**values))
            if changed.rowcount == 0:
                return False
            conn.execute(insert(ticket_history).values(ticket_id=ticket_id, **history))
            if correction:
                conn.execute(insert(dispatch_corrections).values(ticket_id=ticket_id, **correction))
        return True

    def corrections(self) -> List[Example]:
        """Dispatchers' reassignments, newest last: training data for the next model."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(
                    dispatch_corrections.c.text, dispatch_corrections.c.label, dispatch_corrections.c.type
                ).order_by(dispatch_corrections.c.id)
            ).fetchall()
        return [Example(text=r.text, label=r.label, type=r.type) for r in rows]

    def get(self, ticket_id: str) -> Optional[Row]:
        with self._engine.connect() as conn:
            row = conn.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
            if row is None:
                return None
            return self._with_history(conn, dict(row._mapping))

    def find_by_idempotency_key(self, key: str) -> Optional[Row]:
        with self._engine.connect() as conn:
            row = conn.execute(select(tickets).where(tickets.c.idempotency_key == key)).first()
            return self._with_history(conn, dict(row._mapping)) if row else None

    def list_by_sender(self, sender_id: str, limit: int) -> List[Row]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(tickets)
                .where(tickets.c.sender_id == sender_id)
                .order_by(tickets.c.created_at.desc(), tickets.c.id.desc())
                .limit(limit)
            ).fetchall()
            return [self._with_history(conn, dict(r._mapping)) for r in rows]

    @staticmethod
    def _with_history(conn: Connection, row: Row) -> Row:
        entries = conn.execute(
            select(
                ticket_history.c.at,
                ticket_history.c.status,
                ticket_history.c.actor,
                ticket_history.c.note,
            )
            .where(ticket_history.c.ticket_id == row["id"])
            .order_by(ticket_history.c.id)
        ).fetchall()
        row["history"] = [dict(e._mapping) for e in entries]
        return row


def utcnow() -> datetime:
    """Naive UTC, the form every timestamp is stored in."""
    return datetime.utcnow().replace(microsecond=0)
