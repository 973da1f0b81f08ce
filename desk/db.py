"""Database schema, engine and migrations of desk (SQLite by default, PostgreSQL in
production). The schema is defined once here; Alembic migrations create it."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).with_name("migrations")

metadata = MetaData()

tickets = Table(
    "tickets",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("sender_id", String(128), nullable=False, index=True),
    Column("channel", String(32), nullable=False),
    Column("type", String(32), nullable=False),
    Column("category", String(64)),
    Column("scenario", String(64)),
    Column("owner", String(32)),  # None while waiting for manual dispatch
    Column("district", String(64)),
    Column("street", String(64)),
    Column("location", Text),
    Column("occurred_at", Text),
    Column("description", Text, nullable=False),
    Column("phone", String(32)),
    Column("contact_anonymous", Boolean, nullable=False, default=False),
    Column("urgent", Boolean, nullable=False, default=False),
    Column("confidence", Float, nullable=False, default=0.0),
    Column("status", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),  # naive UTC
    Column("respond_by", DateTime, nullable=False),
    Column("resolve_by", DateTime, nullable=False),
    Column("idempotency_key", String(200), unique=True),
    Column("request_hash", String(64)),
)

ticket_history = Table(
    "ticket_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", String(32), ForeignKey("tickets.id"), nullable=False, index=True),
    Column("at", DateTime, nullable=False),
    Column("status", String(32), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("note", Text),
)

ticket_counters = Table(
    "ticket_counters",
    metadata,
    Column("day", String(8), primary_key=True),
    Column("last", Integer, nullable=False),
)


dispatch_corrections = Table(
    "dispatch_corrections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", String(32), ForeignKey("tickets.id"), nullable=False),
    Column("text", Text, nullable=False),
    Column("label", String(130), nullable=False),  # "category.scenario"
    Column("type", String(32), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(300), nullable=False),
    Column("role", String(16), nullable=False),  # operator | admin
    Column("created_at", DateTime, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),  # naive UTC
    Column("actor", String(64), nullable=False),  # username, or "system"
    Column("action", String(64), nullable=False),  # dotted: handoff.claim, review.annotate, ...
    Column("target", String(128), index=True),  # a conversation's sender id, a ticket id, ...
    Column("details", Text),  # JSON of what changed
)


# Admin review queue (desk/admin): citizen messages the bot understood poorly.
review_items = Table(
    "review_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_ref", String(200), nullable=False, unique=True),  # dedup key of the origin
    Column("reason", String(32), nullable=False),  # low_confidence | fallback | takeover | reassignment
    Column("sender_id", String(128), index=True),
    Column("text", Text, nullable=False),  # personal data masked
    Column("intent", String(64)),  # what the bot understood
    Column("confidence", Float),
    Column("context", Text),  # JSON: the conversation around the message, masked
    Column("status", String(16), nullable=False, index=True),  # open | annotated | dismissed
    Column("resolution", Text),  # JSON of the admin's decision
    Column("created_at", DateTime, nullable=False),  # naive UTC
    Column("resolved_at", DateTime),
    Column("resolved_by", String(64)),
)

# Rasa models trained, evaluated, promoted and rolled back from desk's admin page.
rasa_models = Table(
    "rasa_models",
    metadata,
    Column("id", String(64), primary_key=True),  # the file name without .tar.gz
    Column("path", Text, nullable=False),
    Column("status", String(16), nullable=False),  # training | trained | failed | active | retired
    Column("mode", String(16), nullable=False),  # full | finetune | external
    Column("base_id", String(64)),
    Column("progress", Float, nullable=False, default=0.0),
    Column("stage", String(200)),
    Column("fingerprint", Text),  # JSON: hashes of config, domain, intents (finetune is allowed when equal)
    Column("metrics", Text),  # JSON: evaluation on the held-out set
    Column("created_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("train_seconds", Float),
    Column("promoted_at", DateTime),
    Column("created_by", String(64)),
)


def make_engine(url: str) -> Engine:
    """Creates the engine; SQLite gets a busy timeout and foreign keys."""
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, future=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, future=True)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine) -> None:
    """Brings the schema up to the newest migration."""
    config = alembic_config(str(engine.url))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    log.info("desk.db.migrated")
