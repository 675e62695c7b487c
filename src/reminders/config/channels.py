"""`channels.yaml`: the chat robots units name, and where their secrets live (the schema only).

A channel names the environment variable or credential that holds its key or
secret, never the secret itself::

    credentials_file: /etc/reminders/credentials.env   # NAME=value lines (optional)
    channels:
      bureau-wecom:
        type: wecom
        key_env: WECOM_BUREAU_KEY          # the bare key or the full webhook URL
      school1-ding:
        type: dingtalk
        key_env: DING_SCHOOL1_TOKEN        # access_token or full URL
        secret_env: DING_SCHOOL1_SECRET    # the SEC… signing secret
        mention_mobiles: ["13800000000"]
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ChannelType = Literal["wecom", "dingtalk", "feishu", "webhook", "log"]

TEMPLATE_NAMES = (
    "title",
    "item",
    "unit_item",
    "overdue",
    "today",
    "upcoming",
    "review",
    "unit_review",
    "review_item",
    "footer",
    "part",
    "escalated",
    "escalated_item",
    "action",
    "review_action",
    "console",
)

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ChannelSpec(_Model):
    type: ChannelType
    key_env: str | None = Field(None, description="env var holding the key/token or full URL")
    key_credential: str | None = Field(None, description="credential name holding the same")
    url: str | None = Field(None, description="webhook only: a URL that holds no secret")
    secret_env: str | None = Field(None, description="env var holding the signing secret")
    secret_credential: str | None = None
    format: Literal["markdown", "text"] | None = None
    mention_mobiles: list[str] = Field(default_factory=list)
    mention_all: bool = False
    link: str | None = Field(None, description="feed or dashboard link shown in messages")
    rate_limit_per_minute: int | None = Field(None, ge=1, le=1000)
    keyword: str | None = Field(
        None, min_length=1, description="keyword security (关键词): put in every message's title"
    )

    @model_validator(mode="after")
    def _references(self) -> ChannelSpec:
        if self.key_env and self.key_credential:
            raise ValueError("key_env 与 key_credential 只能写一个")
        if self.secret_env and self.secret_credential:
            raise ValueError("secret_env 与 secret_credential 只能写一个")
        has_key = bool(self.key_env or self.key_credential)
        if self.type in ("wecom", "dingtalk", "feishu") and not has_key:
            raise ValueError(
                f"{self.type} 渠道需要 key_env 或 key_credential（密钥所在的环境变量或凭据名）"
            )
        if self.type == "webhook" and not (has_key or self.url):
            raise ValueError("webhook 渠道需要 url、key_env 或 key_credential")
        if self.url and self.type != "webhook":
            raise ValueError("只有 webhook 渠道可写 url；机器人的地址含密钥，请用 key_env")
        if self.type == "log" and (has_key or self.secret_env or self.secret_credential):
            raise ValueError("log 渠道没有密钥")
        return self


class ChannelsFile(_Model):
    credentials_file: str | None = Field(
        None, description="NAME=value lines, relative to the config dir; mode 0600"
    )
    link_template: str | None = Field(None, description="e.g. https://host/feeds/$unit.ics")
    templates: dict[str, str] = Field(default_factory=dict)
    channels: dict[str, ChannelSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> ChannelsFile:
        import re

        for name in self.channels:
            if not re.match(_NAME, name):
                raise ValueError(f"渠道名 {name!r}：只能用字母、数字、'-'、'_' 或 '.'")
        log = self.channels.get("log")
        if log is not None and log.type != "log":
            raise ValueError("渠道名 'log' 留给日志渠道，不能另作他用")
        unknown = sorted(set(self.templates) - set(TEMPLATE_NAMES))
        if unknown:
            raise ValueError(
                f"不认识的模板 (template)：{', '.join(unknown)}；可用：{', '.join(TEMPLATE_NAMES)}"
            )
        return self

    def names(self) -> list[str]:
        return sorted({"log", *self.channels})
