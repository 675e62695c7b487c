"""Console accounts in the ledger's database: a role, argon2 password hashes, login links.

An account is either `bureau` (sees and acts on every unit) or `unit` (its own
units only). Accounts live in the ledger's database, so instances sharing one
PostgreSQL share them. A password is kept only as an argon2id hash; `epoch`
rises when the password changes or the account is removed, which ends every
session made before.

A one-time login link carries a token signed with the console secret (so a
made-up token is refused without a database read) naming a random nonce; the
database keeps the nonce's SHA-256, the account and the expiry, and redeeming
marks it used in one conditional write, so a link works once, before it
expires, on any instance. Every time is an argument.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Connection, Engine, delete, insert, select, update

from ..exceptions import Problem, RemindersError
from ..ledger.schema import console_login_links, console_users
from ..ledger.store import reading
from ..limits import ACCOUNT_NAME_MAX_CHARS, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS

Role = Literal["bureau", "unit"]
ROLES: tuple[Role, ...] = ("bureau", "unit")
ROLE_LABELS = {"bureau": "教育局（全部单位）", "unit": "单位"}
MIN_PASSWORD = PASSWORD_MIN_CHARS
_LINK_SALT = "reminders-console-login-link"

# OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): a small server hashes a
# login in ~40 ms without the 64 MiB a default hash would take from its memory.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class AccountError(RemindersError):
    """A console account command that cannot be done (unknown name, weak password…)."""

    def __init__(self, message: str, field: str | None = None, value: object = None) -> None:
        super().__init__([Problem(message, field=field, value=value)])


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    role: Role
    units: tuple[str, ...]
    has_password: bool
    epoch: int
    created_at: datetime
    updated_at: datetime

    @property
    def bureau(self) -> bool:
        return self.role == "bureau"

    def may_see(self, unit: str) -> bool:
        return self.bureau or unit in self.units

    def visible(self, units: list[str]) -> list[str]:
        """The units of `units` (in that order) this account may see."""
        return list(units) if self.bureau else [u for u in units if u in self.units]

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "role": self.role,
            "units": list(self.units),
            "password": self.has_password,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _account(record: Any) -> Account:
    m = record._mapping
    return Account(
        m["name"],
        cast(Role, m["role"]),
        tuple(json.loads(m["units"])),
        m["password_hash"] is not None,
        m["epoch"],
        m["created_at"],
        m["updated_at"],
    )


def check_name(name: str) -> str:
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= ACCOUNT_NAME_MAX_CHARS or any(
        not ch.isprintable() for ch in cleaned
    ):
        raise AccountError(
            f"账号名须为 1–{ACCOUNT_NAME_MAX_CHARS} 个可见字符 (account name)", "NAME", name
        )
    return cleaned


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(
            f"密码至少 {MIN_PASSWORD} 个字符 (password too short)", "password", "*" * len(password)
        )
    if len(password) > PASSWORD_MAX_CHARS:
        raise AccountError("密码过长 (password too long)", "password")
    return password


LinkRefusal = Literal["forged", "unknown", "used", "expired"]


class LinkRefused(Exception):
    def __init__(self, reason: LinkRefusal) -> None:
        super().__init__(reason)
        self.reason: LinkRefusal = reason


class Accounts:
    """The account table, the login-link table and the password hasher."""

    def __init__(self, engine: Engine, secret: str, hasher: PasswordHasher = HASHER) -> None:
        self.engine = engine
        self.hasher = hasher
        self._links = URLSafeSerializer(secret, salt=_LINK_SALT)
        self._dummy: str | None = None

    # -- accounts ------------------------------------------------------------------
    def add(
        self, name: str, role: Role, units: list[str], password: str | None, now: datetime
    ) -> Account:
        name = check_name(name)
        if role not in ROLES:
            raise AccountError("角色只能是 bureau 或 unit (role)", "role", role)
        if role == "unit" and not units:
            raise AccountError("单位账号至少要有一个单位：--unit 单位名 (unit account)", "--unit")
        digest = self.hasher.hash(check_password(password)) if password is not None else None
        with self.engine.begin() as conn:
            exists = conn.execute(
                select(console_users.c.name).where(console_users.c.name == name)
            ).first()
            if exists is not None:
                raise AccountError("账号已存在 (account exists)", "NAME", name)
            conn.execute(
                insert(console_users).values(
                    name=name,
                    role=role,
                    units=json.dumps(units if role == "unit" else [], ensure_ascii=False),
                    password_hash=digest,
                    epoch=1,
                    created_at=now,
                    updated_at=now,
                )
            )
        account = self.get(name)
        assert account is not None
        return account

    def set_password(self, name: str, password: str | None, now: datetime) -> Account:
        """A new password (None: links only); every session of the account ends."""
        digest = self.hasher.hash(check_password(password)) if password is not None else None
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(console_users)
                .where(console_users.c.name == name)
                .values(password_hash=digest, epoch=console_users.c.epoch + 1, updated_at=now)
            ).rowcount
        if changed != 1:
            raise AccountError("没有这个账号 (no such account)", "NAME", name)
        account = self.get(name)
        assert account is not None
        return account

    def remove(self, name: str) -> None:
        with self.engine.begin() as conn:
            gone = conn.execute(delete(console_users).where(console_users.c.name == name)).rowcount
            conn.execute(delete(console_login_links).where(console_login_links.c.user_name == name))
        if gone != 1:
            raise AccountError("没有这个账号 (no such account)", "NAME", name)

    def get(self, name: str) -> Account | None:
        with reading(self.engine) as conn:
            return _get(conn, name)

    def all(self) -> list[Account]:
        with reading(self.engine) as conn:
            records = conn.execute(select(console_users).order_by(console_users.c.name))
            return [_account(r) for r in records]

    def authenticate(self, name: str, password: str) -> Account | None:
        """The account when the password is right; an unknown name costs the same time."""
        with reading(self.engine) as conn:
            record = conn.execute(
                select(console_users.c.password_hash).where(console_users.c.name == name)
            ).first()
        stored = record[0] if record is not None else None
        try:
            self.hasher.verify(stored or self._dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        if stored is None:
            return None
        if self.hasher.check_needs_rehash(stored):
            with self.engine.begin() as conn:
                conn.execute(
                    update(console_users)
                    .where(console_users.c.name == name)
                    .values(password_hash=self.hasher.hash(password))
                )
        return self.get(name)

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_hex(16))
        return self._dummy

    # -- one-time login links ------------------------------------------------------------
    def issue_link(self, name: str, now: datetime, lifetime: timedelta) -> str:
        """A signed token for one login as `name`, until now + lifetime."""
        if self.get(name) is None:
            raise AccountError("没有这个账号 (no such account)", "NAME", name)
        nonce = secrets.token_urlsafe(24)
        expires = now + lifetime
        with self.engine.begin() as conn:
            conn.execute(
                insert(console_login_links).values(
                    digest=_digest(nonce),
                    user_name=name,
                    expires_at=expires,
                    used_at=None,
                    created_at=now,
                )
            )
        return self._links.dumps({"n": nonce, "e": int(expires.timestamp())})

    def peek_link(self, token: str, now: datetime) -> Account:
        """The account a link would log in, without using it (for its confirm page)."""
        digest = self._nonce_digest(token)
        with reading(self.engine) as conn:
            return _usable(conn, digest, now)

    def redeem_link(self, token: str, now: datetime) -> Account:
        """Use the link once: the account it names, or LinkRefused."""
        digest = self._nonce_digest(token)
        with self.engine.begin() as conn:
            account = _usable(conn, digest, now)
            taken = conn.execute(
                update(console_login_links)
                .where(
                    console_login_links.c.digest == digest,
                    console_login_links.c.used_at.is_(None),
                )
                .values(used_at=now)
            ).rowcount
        if taken != 1:
            raise LinkRefused("used")
        return account

    def _nonce_digest(self, token: str) -> str:
        try:
            data = self._links.loads(token)
            nonce = data["n"]
        except (BadSignature, KeyError, TypeError, ValueError):
            raise LinkRefused("forged") from None
        if not isinstance(nonce, str):
            raise LinkRefused("forged")
        return _digest(nonce)


def _get(conn: Connection, name: str) -> Account | None:
    record = conn.execute(select(console_users).where(console_users.c.name == name)).first()
    return _account(record) if record is not None else None


def _usable(conn: Connection, digest: str, now: datetime) -> Account:
    """The account of an unused, unexpired link; LinkRefused otherwise."""
    row = conn.execute(
        select(console_login_links).where(console_login_links.c.digest == digest)
    ).first()
    if row is None:
        raise LinkRefused("unknown")
    m = row._mapping
    if m["used_at"] is not None:
        raise LinkRefused("used")
    if m["expires_at"] <= now:
        raise LinkRefused("expired")
    account = _get(conn, m["user_name"])
    if account is None:
        raise LinkRefused("unknown")
    return account


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()
