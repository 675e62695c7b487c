"""The log channel: writes the rendered message to the log. The default for a unit."""

from __future__ import annotations

import logging

import httpx

from .base import Answer, Channel, Outgoing

logger = logging.getLogger("reminders.channels.log")


class LogChannel(Channel):
    kind = "log"
    byte_limit = 64 * 1024
    flavor = "text"

    def body(self, message: Outgoing) -> bytes:
        return f"{self.titled(message.title)}\n{message.text}".encode()

    async def send(self, client: httpx.AsyncClient, message: Outgoing) -> Answer:
        part = f" ({message.part}/{message.parts})" if message.parts > 1 else ""
        logger.info("[%s] %s%s\n%s", self.name, self.titled(message.title), part, message.text)
        return Answer(0, 0, "logged")
