"""Signed action links: genuine tokens pass; forged, swapped, altered and expired ones fail."""

from __future__ import annotations

import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reminders.closedloop import TokenError, sign, verify
from reminders.closedloop.keys import action_key, api_token
from reminders.closedloop.links import ActionLinks
from reminders.closedloop.signing import MIN_KEY_BYTES
from reminders.exceptions import ConfigError

KEY = b"k" * 32
OTHER = b"o" * 32
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=30)
A = "4.5/教育局/2026-11"
B = "4.5/县第一中学/2026-11"


def test_round_trip() -> None:
    claim = verify(KEY, sign(KEY, A, "done", LATER), NOW)
    assert (claim.occurrence_id, claim.action, claim.expires) == (A, "done", LATER)


def test_expired() -> None:
    token = sign(KEY, A, "done", LATER)
    with pytest.raises(TokenError) as caught:
        verify(KEY, token, LATER)
    assert caught.value.reason == "expired" and caught.value.expired_at == LATER


def test_another_key_is_forged() -> None:
    with pytest.raises(TokenError, match="forged"):
        verify(KEY, sign(OTHER, A, "done", LATER), NOW)


def test_swapped_signature_is_forged() -> None:
    a_payload = sign(KEY, A, "done", LATER).split(".")[0]
    b_mac = sign(KEY, B, "done", LATER).split(".")[1]
    with pytest.raises(TokenError, match="forged"):
        verify(KEY, f"{a_payload}.{b_mac}", NOW)


def test_action_or_expiry_cannot_be_changed() -> None:
    import base64

    token = sign(KEY, A, "done", LATER)
    payload, mac = token.split(".")
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    for changed in (raw.replace(b"done", b"undo"), raw.replace(b"\n17", b"\n27", 1)):
        assert changed != raw
        forged = base64.urlsafe_b64encode(changed).rstrip(b"=").decode()
        with pytest.raises(TokenError, match="forged"):
            verify(KEY, f"{forged}.{mac}", NOW)


@pytest.mark.parametrize("token", ["", "abc", "a.b", "x" * 2000, "!!!!!!!!.AAAAAAAAAAAAAAAAAAAAAA"])
def test_malformed(token: str) -> None:
    with pytest.raises(TokenError, match="malformed"):
        verify(KEY, token, NOW)


@given(st.text(min_size=1, max_size=80))
def test_any_occurrence_id_round_trips(occurrence_id: str) -> None:
    assert verify(KEY, sign(KEY, occurrence_id, "waive", LATER), NOW).occurrence_id == occurrence_id


@given(st.binary(min_size=1, max_size=40), st.integers(min_value=0, max_value=21))
def test_flipping_any_signature_bit_fails(noise: bytes, where: int) -> None:
    token = sign(KEY, A, "done", LATER)
    payload, mac = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    replacement = alphabet[noise[0] % 64]
    altered = mac[:where] + replacement + mac[where + 1 :]
    if altered == mac:
        return
    with pytest.raises(TokenError):
        verify(KEY, f"{payload}.{altered}", NOW)


def test_short_key_refused() -> None:
    with pytest.raises(ValueError):
        sign(b"short", A, "done", LATER)


def test_links_expire_at_a_midnight_and_are_stable_within_a_day() -> None:
    links = ActionLinks(KEY, "https://r.example.cn/", timedelta(days=30), lambda: NOW)
    url = links(A)
    assert url.startswith("https://r.example.cn/act/")
    token = url.rsplit("/", 1)[1]
    claim = verify(KEY, token, NOW)
    assert claim.expires == datetime(2026, 12, 31, tzinfo=UTC)
    later = ActionLinks(
        KEY, "https://r.example.cn", timedelta(days=30), lambda: NOW + timedelta(hours=5)
    )
    assert later(A) == url


def test_secrets_come_from_the_environment_or_are_made_once(tmp_path: Path) -> None:
    state = tmp_path / "state"
    key, token = action_key(state, {}), api_token(state, {})
    assert len(key) >= MIN_KEY_BYTES and len(token) >= 24 and key.decode() != token
    assert (action_key(state, {}), api_token(state, {})) == (key, token)  # kept, not remade
    for name in ("action.key", "api.token"):
        path = state / "loop" / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        path.chmod(0o644)
    assert (action_key(state, {}), api_token(state, {})) == (key, token)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in (state / "loop").iterdir())
    env = {"REMINDERS_ACTION_KEY": "e" * 32, "REMINDERS_API_TOKEN": "t" * 24}
    assert (action_key(state, env), api_token(state, env)) == (b"e" * 32, "t" * 24)


@pytest.mark.parametrize(
    ("load", "env", "written", "message"),
    [
        (action_key, {"REMINDERS_ACTION_KEY": "e" * 31}, None, "REMINDERS_ACTION_KEY"),
        (api_token, {"REMINDERS_API_TOKEN": "t" * 23}, None, "REMINDERS_API_TOKEN"),
        (action_key, {}, "action.key", "链接签名密钥文件已损坏"),
        (api_token, {}, "api.token", "API 令牌文件已损坏"),
    ],
)
def test_short_or_damaged_secrets_are_config_errors(
    tmp_path: Path,
    load: Callable[[Path, dict[str, str]], object],
    env: dict[str, str],
    written: str | None,
    message: str,
) -> None:
    if written is not None:
        (tmp_path / "loop").mkdir()
        (tmp_path / "loop" / written).write_text("short\n")
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, env)
