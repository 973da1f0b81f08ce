"""Operators and admins: password login and signed bearer tokens.

Passwords are stored as scrypt hashes; tokens are HMAC-signed (username, role, expiry),
so any desk process with the same DESK_SECRET accepts them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from aiohttp import web
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from desk.db import users
from desk.errors import Forbidden, Unauthorized
from desk.tickets.repository import utcnow

log = logging.getLogger(__name__)
ROLES = ("operator", "admin")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str) -> bool:
    try:
        _, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), **_SCRYPT)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@dataclass(frozen=True)
class Identity:
    username: str
    role: str


class TokenSigner:
    def __init__(self, secret: bytes, ttl_s: int) -> None:
        self._secret = secret
        self._ttl_s = ttl_s

    def issue(self, identity: Identity) -> str:
        claims = {"u": identity.username, "r": identity.role, "exp": int(time.time()) + self._ttl_s}
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        return f"{body}.{self._sign(body)}"

    def verify(self, token: str) -> Identity:
        body, _, signature = token.partition(".")
        if not body or not hmac.compare_digest(signature, self._sign(body)):
            raise Unauthorized("登录凭证无效，请重新登录")
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        if claims["exp"] < time.time():
            raise Unauthorized("登录已过期，请重新登录")
        return Identity(claims["u"], claims["r"])

    def _sign(self, body: str) -> str:
        return hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()


class UserRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def password_hash(self, username: str) -> Optional[tuple]:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(users.c.password_hash, users.c.role).where(users.c.username == username)
            ).first()
            return tuple(row) if row else None

    def ensure(self, username: str, password: str, role: str) -> None:
        """Creates the user unless it exists (a changed password is set by an admin, not env)."""
        with self._engine.begin() as conn:
            exists = conn.execute(select(users.c.username).where(users.c.username == username)).first()
            if not exists:
                conn.execute(
                    insert(users).values(
                        username=username,
                        password_hash=hash_password(password),
                        role=role,
                        created_at=utcnow(),
                    )
                )
                log.info("desk.auth.user_created role=%s", role)

    def create(self, username: str, password: str, role: str) -> bool:
        """Adds a user; False when the name is taken."""
        with self._engine.begin() as conn:
            if conn.execute(select(users.c.username).where(users.c.username == username)).first():
                return False
            conn.execute(
                insert(users).values(
                    username=username, password_hash=hash_password(password), role=role, created_at=utcnow()
                )
            )
        log.info("desk.auth.user_created role=%s", role)
        return True

    def set_password(self, username: str, password: str) -> bool:
        with self._engine.begin() as conn:
            changed = conn.execute(
                users.update()
                .where(users.c.username == username)
                .values(password_hash=hash_password(password))
            ).rowcount
        return bool(changed)

    def list(self) -> List[Dict[str, Any]]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(users.c.username, users.c.role, users.c.created_at).order_by(users.c.username)
            )
            return [{"username": r[0], "role": r[1], "created_at": r[2].isoformat() + "Z"} for r in rows]


def authenticate(users_repo: UserRepository, username: str, password: str) -> Identity:
    found = users_repo.password_hash(username)
    if not found or not verify_password(password, found[0]):
        raise Unauthorized("用户名或密码错误")
    return Identity(username, found[1])


def identity_of(request: web.Request, signer: TokenSigner) -> Optional[Identity]:
    """The caller's identity from `Authorization: Bearer`, None without a header."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("需要 Authorization: Bearer <token>")
    return signer.verify(token.strip())


def require(request: web.Request, signer: TokenSigner, role: str = "operator") -> Identity:
    identity = identity_of(request, signer)
    if identity is None:
        raise Unauthorized("请先登录")
    if role == "admin" and identity.role != "admin":
        raise Forbidden("需要管理员权限")
    return identity
