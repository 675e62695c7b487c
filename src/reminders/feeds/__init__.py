"""Calendar feeds: per unit, per group and for everything; files and HTTP."""

from __future__ import annotations

from .builder import Feed, FeedBuilder, feed_window
from .files import write_feeds
from .history import History
from .publisher import FeedPublisher
from .render import occurrence_id_of, uid_for
from .server import EmbeddedServer, FeedApp, FeedStore, parse_listen, server_config
from .specs import FeedSpec, feed_specs, slug_for
from .tokens import load_tokens

__all__ = [
    "EmbeddedServer",
    "Feed",
    "FeedApp",
    "FeedBuilder",
    "FeedPublisher",
    "FeedSpec",
    "FeedStore",
    "History",
    "feed_specs",
    "feed_window",
    "load_tokens",
    "occurrence_id_of",
    "parse_listen",
    "server_config",
    "slug_for",
    "uid_for",
    "write_feeds",
]
