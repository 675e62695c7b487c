"""`reminders users add|passwd|remove|list|link`: the console's accounts.

Accounts live in the ledger's database (so instances sharing PostgreSQL share
them). A password is typed twice at a terminal, or read from the first line of
standard input with `--password-stdin`; it is never an argument (it would show
in `ps` and the shell's history).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ..exceptions import ConfigError, Problem
from ..statedir import find_state_dir
from .common import load, print_json, state_dir_option
from .errors import EXIT_OK

if TYPE_CHECKING:
    from ..config import Config
    from ..console.accounts import Accounts


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    state = state_dir_option("the ledger (accounts are kept in it)")
    users = commands.add_parser(
        "users",
        help="督办看板的账号 (console accounts): add, passwd, remove, list, link",
        description="管理督办看板（/console/）的账号。教育局账号 (--bureau) 查看并办理全部单位；"
        "单位账号 (--unit) 只能查看并办理自己的单位。"
        "账号保存在 ledger 数据库中（与提醒、办结记录同库）。",
    )
    sub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    password = argparse.ArgumentParser(add_help=False)
    how = password.add_mutually_exclusive_group()
    how.add_argument(
        "--password-stdin",
        action="store_true",
        help="从标准输入的第一行读密码 (read the password from stdin)",
    )
    how.add_argument(
        "--no-password",
        action="store_true",
        help="不设密码，只能用一次性登录链接登录 (login links only)",
    )

    add = sub.add_parser(
        "add",
        parents=[state, password],
        help="新建账号 (add an account)",
        description="新建账号；不给 --password-stdin / --no-password 时在终端输入两次密码。",
    )
    add.add_argument("name", metavar="NAME", help="账号名，如 王老师 (account name)")
    role = add.add_mutually_exclusive_group(required=True)
    role.add_argument(
        "--unit",
        action="append",
        metavar="UNIT",
        help="单位账号：可查看的单位，可重复 (unit account; repeatable)",
    )
    role.add_argument(
        "--bureau", action="store_true", help="教育局账号：查看全部单位 (bureau account)"
    )
    add.set_defaults(run=cmd_add)

    passwd = sub.add_parser(
        "passwd",
        parents=[state, password],
        help="修改密码，该账号已登录的会话全部失效 (change a password)",
    )
    passwd.add_argument("name", metavar="NAME", help="账号名 (account name)")
    passwd.set_defaults(run=cmd_passwd)

    remove = sub.add_parser(
        "remove", parents=[state], help="删除账号，其会话和登录链接随即失效 (remove)"
    )
    remove.add_argument("name", metavar="NAME", help="要删除的账号名 (account name)")
    remove.set_defaults(run=cmd_remove)

    listing = sub.add_parser("list", parents=[state], help="列出账号 (list accounts)")
    listing.add_argument("--json", action="store_true", help="输出 JSON (print JSON)")
    listing.set_defaults(run=cmd_list)

    link = sub.add_parser(
        "link",
        parents=[state],
        help="打印一次性登录链接 (print a one-time login link)",
        description="打印一个只能用一次、短期有效的登录链接，可发给该账号的使用人。",
    )
    link.add_argument("name", metavar="NAME", help="为这个账号生成登录链接 (account name)")
    link.add_argument(
        "--minutes",
        type=int,
        metavar="N",
        help="有效分钟数，默认 settings 的 console.login_link_minutes（30） (expiry)",
    )
    link.add_argument(
        "--base-url",
        metavar="URL",
        help="服务的对外地址，默认 loop.base_url、feeds.base_url，否则监听地址 (public URL)",
    )
    link.set_defaults(run=cmd_link)


def _accounts(args: argparse.Namespace, *, writes: bool) -> tuple[Config, Accounts | None]:
    from ..closedloop.keys import action_key
    from ..console.accounts import Accounts
    from ..console.auth import console_secret
    from ..delivery.setup import existing_ledger, open_ledger

    config = load(args)
    state_dir = find_state_dir(args.state_dir)
    ledger = open_ledger(config, state_dir) if writes else existing_ledger(config, state_dir)
    if ledger is None:
        return config, None
    return config, Accounts(ledger.engine, console_secret(action_key(state_dir)))


def _password(args: argparse.Namespace) -> str | None:
    if args.no_password:
        return None
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ConfigError(
            [
                Problem(
                    "标准输入不是终端：用 --password-stdin 从标准输入读密码，或 --no-password "
                    "只用登录链接 (stdin is not a terminal)",
                    field="password",
                )
            ]
        )
    first = getpass.getpass("密码 (password): ")
    again = getpass.getpass("再输一次 (again): ")
    if first != again:
        raise ConfigError([Problem("两次输入的密码不一致 (passwords differ)", field="password")])
    return first


def _now() -> datetime:
    return datetime.now(UTC)


def cmd_add(args: argparse.Namespace) -> int:
    config, accounts = _accounts(args, writes=True)
    assert accounts is not None
    units: list[str] = args.unit or []
    known = config.plan.unit_names()
    unknown = [u for u in units if u not in known]
    if unknown:
        raise ConfigError(
            [
                Problem("units.yaml 中没有这个单位 (unknown unit)", field="--unit", value=u)
                for u in unknown
            ]
        )
    account = accounts.add(
        args.name, "bureau" if args.bureau else "unit", units, _password(args), _now()
    )
    scope = "全部单位" if account.bureau else "、".join(account.units)
    print(f"已新建账号 {account.name}（{scope}）(account added)")
    if not account.has_password:
        print(f"此账号没有密码：用 `reminders users link {account.name}` 生成登录链接")
    return EXIT_OK


def cmd_passwd(args: argparse.Namespace) -> int:
    _, accounts = _accounts(args, writes=True)
    assert accounts is not None
    accounts.set_password(args.name, _password(args), _now())
    print(f"已修改 {args.name} 的密码，其已登录的会话全部失效 (password changed)")
    return EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    _, accounts = _accounts(args, writes=True)
    assert accounts is not None
    accounts.remove(args.name)
    print(f"已删除账号 {args.name} (account removed)")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    _, accounts = _accounts(args, writes=False)
    found = accounts.all() if accounts is not None else []
    if args.json:
        print_json([a.as_json() for a in found])
        return EXIT_OK
    if not found:
        print("还没有账号：reminders users add NAME --bureau (no accounts yet)")
    for account in found:
        scope = "教育局（全部单位）" if account.bureau else "、".join(account.units)
        login = "密码" if account.has_password else "仅登录链接"
        print(f"{account.name}\t{scope}\t{login}")
    return EXIT_OK


def cmd_link(args: argparse.Namespace) -> int:
    from ..closedloop.links import link_base

    config, accounts = _accounts(args, writes=True)
    assert accounts is not None
    settings = config.settings
    minutes = settings.console.login_link_minutes if args.minutes is None else args.minutes
    if not 1 <= minutes <= 7 * 24 * 60:
        raise ConfigError(
            [Problem("有效期须在 1 分钟到 7 天之间 (expiry)", field="--minutes", value=minutes)]
        )
    base = args.base_url or link_base(settings)
    if base is None:
        base = f"http://{settings.feeds.listen}"
        print(f"注意：未设置 loop.base_url，链接使用监听地址 {base}", file=sys.stderr)
    now = _now()
    token = accounts.issue_link(args.name, now, timedelta(minutes=minutes))
    local = (now + timedelta(minutes=minutes)).astimezone(ZoneInfo(settings.timezone))
    expires = local.strftime("%Y-%m-%d %H:%M")
    print(f"{base.rstrip('/')}/console/login/{token}")
    print(f"有效至 {expires}，只能使用一次 (one use)", file=sys.stderr)
    return EXIT_OK
