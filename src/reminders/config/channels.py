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
            raise ValueError("give key_env or key_credential, not both")
        if self.secret_env and self.secret_credential:
            raise ValueError("give secret_env or secret_credential, not both")
        has_key = bool(self.key_env or self.key_credential)
        if self.type in ("wecom", "dingtalk", "feishu") and not has_key:
            raise ValueError(f"a {self.type} channel needs key_env or key_credential")
        if self.type == "webhook" and not (has_key or self.url):
            raise ValueError("a webhook channel needs url, key_env or key_credential")
        if self.url and self.type != "webhook":
            raise ValueError(
                "only a webhook may have a plain url; a robot URL holds its key: use key_env"
            )
        if self.type == "log" and (has_key or self.secret_env or self.secret_credential):
            raise ValueError("a log channel has no key or secret")
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
                raise ValueError(f"channel name {name!r}: use letters, digits, '-', '_' or '.'")
        log = self.channels.get("log")
        if log is not None and log.type != "log":
            raise ValueError("the channel name 'log' is reserved for the log channel")
        unknown = sorted(set(self.templates) - set(TEMPLATE_NAMES))
        if unknown:
            raise ValueError(
                f"unknown template(s) {', '.join(unknown)}; known: {', '.join(TEMPLATE_NAMES)}"
            )
        return self

    def names(self) -> list[str]:
        return sorted({"log", *self.channels})
