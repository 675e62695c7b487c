"""Chat robots and other destinations for reminders: a base plus one module each."""

from ..config.channels import ChannelsFile, ChannelSpec
from .base import Answer, Channel, HttpChannel, Outgoing, measure
from .dingtalk import DingTalkChannel
from .feishu import FeishuChannel
from .log import LogChannel
from .registry import build_channels
from .webhook import WebhookChannel
from .wecom import WeComChannel

__all__ = [
    "Answer",
    "Channel",
    "ChannelSpec",
    "ChannelsFile",
    "DingTalkChannel",
    "FeishuChannel",
    "HttpChannel",
    "LogChannel",
    "Outgoing",
    "WeComChannel",
    "WebhookChannel",
    "build_channels",
    "measure",
]
