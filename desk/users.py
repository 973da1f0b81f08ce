"""Desk accounts from the command line (for people who prefer a terminal to the admin API).

    python -m desk.users add NAME [--role operator|admin]   (asks for the password)
    python -m desk.users password NAME
    python -m desk.users list

Uses DATABASE_URL like desk itself; the schema is migrated first.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import List, Optional

from desk.auth import ROLES, UserRepository
from desk.db import make_engine, migrate
from desk.settings import Settings

MIN_PASSWORD = 10


def _password(prompt_twice: bool = True) -> str:
    given = os.environ.get("DESK_NEW_PASSWORD")  # for scripts; never on the command line
    if given:
        return given
    first = getpass.getpass("密码（至少 10 位）：")
    if prompt_twice and getpass.getpass("再输入一次：") != first:
        raise SystemExit("两次输入的密码不一致")
    return first


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m desk.users", description="desk 账号管理")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="新增账号")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, default="operator")
    change = commands.add_parser("password", help="重设密码")
    change.add_argument("username")
    commands.add_parser("list", help="列出账号")
    args = parser.parse_args(argv)

    engine = make_engine(Settings().database_url)  # type: ignore[call-arg]
    migrate(engine)
    users = UserRepository(engine)
    if args.command == "list":
        for user in users.list():
            print(f"{user['username']}\t{user['role']}\t{user['created_at']}")
        return 0
    password = _password()
    if len(password) < MIN_PASSWORD:
        print(f"密码至少 {MIN_PASSWORD} 位", file=sys.stderr)
        return 2
    if args.command == "add":
        if not users.create(args.username, password, args.role):
            print(f"账号 {args.username} 已存在", file=sys.stderr)
            return 1
        print(f"已创建账号 {args.username}（{args.role}）")
        return 0
    if not users.set_password(args.username, password):
        print(f"账号 {args.username} 不存在", file=sys.stderr)
        return 1
    print(f"已重设 {args.username} 的密码")
    return 0


if __name__ == "__main__":
    sys.exit(main())
