"""Build channel objects from `channels.yaml`, resolving secrets at the last moment.

A secret comes from an environment variable (`key_env`, `secret_env`) or a
credential (`key_credential`, `secret_credential`): a file of that name in
`$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`) or a `NAME=value` line in
the `credentials_file` named in channels.yaml. Errors name the variable or
credential, never its value.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

from ..config.channels import ChannelsFile, ChannelSpec
from ..exceptions import ConfigError, Problem
from ..limits import SECRET_FILE_MAX_BYTES
from ..userfiles import read_user_file
from .base import Channel, Clock
from .dingtalk import DingTalkChannel
from .feishu import FeishuChannel
from .log import LogChannel
from .webhook import WebhookChannel
from .wecom import WeComChannel


def read_credentials_file(path: Path) -> dict[str, str]:
    """`NAME=value` lines; blank lines and `#` comments ignored."""
    text = _secret_text(path, "凭据文件 (credentials file)")
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise ConfigError(
                [Problem("应为 NAME=value 格式的一行（不显示内容）", str(path), number)]
            )
        values[name.strip()] = value.strip().strip("'\"")
    return values


def _secret_text(path: Path, what: str) -> str:
    """A file holding secrets, as text; errors name the file, never its content."""
    raw = read_user_file(path, SECRET_FILE_MAX_BYTES, what)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError([Problem(f"{what}不是 UTF-8 文本", str(path))]) from None


class _Secrets:
    def __init__(
        self,
        environ: Mapping[str, str],
        credentials: Mapping[str, str],
        credentials_dir: Path | None,
    ) -> None:
        self.environ = environ
        self.credentials = credentials
        self.credentials_dir = credentials_dir
        self.problems: list[Problem] = []

    def get(self, channel: str, env: str | None, credential: str | None, what: str) -> str | None:
        if env:
            value = self.environ.get(env, "").strip()
            if not value:
                self.problems.append(
                    Problem(
                        f"渠道 {channel!r} 的环境变量 {env} 未设置 (not set)；systemd 下把 "
                        f"{env}=… 写进 /etc/reminders/credentials.env",
                        field=f"channels.{channel}.{what}_env",
                    )
                )
                return None
            return value
        if credential:
            if self.credentials_dir is not None:
                candidate = self.credentials_dir / credential
                if candidate.exists():
                    return _secret_text(candidate, "凭据 (credential)").strip()
            if credential in self.credentials:
                return self.credentials[credential]
            self.problems.append(
                Problem(
                    f"渠道 {channel!r} 的凭据 (credential) {credential!r} 未找到：既不在 "
                    "$CREDENTIALS_DIRECTORY 中，也不在 credentials_file 中",
                    field=f"channels.{channel}.{what}_credential",
                )
            )
        return None


class _Placeholders(_Secrets):
    """A stand-in for every named key and secret."""

    def __init__(self) -> None:
        super().__init__({}, {}, None)

    def get(self, channel: str, env: str | None, credential: str | None, what: str) -> str | None:
        return f"placeholder-{what}-{channel}" if env or credential else None


def preview_channels(spec: ChannelsFile) -> dict[str, Channel]:
    """Every configured channel plus `log`, with stand-ins for their secrets: the real byte
    limits, formats and links for a dry run, which needs no secret and sends nothing."""
    channels: dict[str, Channel] = {"log": LogChannel("log")}
    for name, channel_spec in spec.channels.items():
        built = _build(name, channel_spec, _Placeholders(), time.time)
        if built is not None:
            channels[name] = built
    return channels


def build_channels(
    spec: ChannelsFile,
    *,
    config_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Clock = time.time,
    only: set[str] | None = None,
) -> dict[str, Channel]:
    """Every configured channel plus `log` (or the named ones); ConfigError on a missing secret."""
    env = os.environ if environ is None else environ
    credentials: dict[str, str] = {}
    if spec.credentials_file:
        path = Path(spec.credentials_file)
        if not path.is_absolute() and config_dir is not None:
            path = config_dir / path
        credentials = read_credentials_file(path)
    cred_dir = env.get("CREDENTIALS_DIRECTORY")
    secrets = _Secrets(env, credentials, Path(cred_dir) if cred_dir else None)
    channels: dict[str, Channel] = {}
    if only is None or "log" in only:
        channels["log"] = LogChannel("log")
    for name, channel_spec in spec.channels.items():
        if only is not None and name not in only:
            continue
        built = _build(name, channel_spec, secrets, clock)
        if built is not None:
            channels[name] = built
    if secrets.problems:
        raise ConfigError(secrets.problems)
    return channels


def _build(name: str, spec: ChannelSpec, secrets: _Secrets, clock: Clock) -> Channel | None:
    channel = _construct(name, spec, secrets, clock)
    if channel is not None:
        channel.rate_limit_per_minute = spec.rate_limit_per_minute
        channel.keyword = spec.keyword
    return channel


def _construct(name: str, spec: ChannelSpec, secrets: _Secrets, clock: Clock) -> Channel | None:
    link = spec.link
    if spec.type == "log":
        return LogChannel(name, link=link)
    key = secrets.get(name, spec.key_env, spec.key_credential, "key")
    secret = secrets.get(name, spec.secret_env, spec.secret_credential, "secret")
    mobiles = tuple(spec.mention_mobiles)
    if spec.type == "webhook":
        url = key or spec.url
        if url is None:
            return None
        return WebhookChannel(
            name,
            url,
            secret=secret,
            url_is_secret=key is not None,
            flavor=spec.format,
            link=link,
            clock=clock,
        )
    if key is None:
        return None
    if spec.type == "wecom":
        return WeComChannel(
            name,
            key,
            flavor=spec.format,
            mention_mobiles=mobiles,
            mention_all=spec.mention_all,
            link=link,
            clock=clock,
        )
    if spec.type == "dingtalk":
        return DingTalkChannel(
            name,
            key,
            secret=secret,
            flavor=spec.format,
            mention_mobiles=mobiles,
            mention_all=spec.mention_all,
            link=link,
            clock=clock,
        )
    return FeishuChannel(name, key, secret=secret, flavor=spec.format, link=link, clock=clock)
