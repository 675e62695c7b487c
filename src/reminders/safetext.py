"""Text from outside (a task table, a config, a posted note) as data: never markup, never
a control sequence.

Each output applies the one function it needs, in one place: the robot renderers
`inert` (delivery/render.py, closedloop/report.py), the iCalendar escaper
`printable` (feeds/ical.py), the log formatter and the command line's streams
`printable` (logs.py, cli/terminal.py).

- `printable`: control characters removed: C0 except tab and newline (so CR, NUL,
  BEL, ESC go; CR LF becomes LF), DEL, C1, and the bidirectional overrides and isolates that reorder
  what a reader sees ("Trojan source"); an ANSI escape sequence goes whole
  (`ESC[31m`, not just its ESC).
- `one_line`: printable, with line breaks and tabs as spaces: a value in a one-line
  slot cannot start a line of its own (a fake `办结确认：` line, a fake log record).
- `inert`: one line, with what a chat robot reads as a mention, a tag or a link made
  plain text: `<@all>`, `<font …>`, `<at user_id="all">`, `@所有人`, `[点我](http://…)`,
  bare URLs and host names (`evil.example/login` → `evil[.]example/login`), so no link
  in a message is clickable but ours.
"""

from __future__ import annotations

import re

_BIDI = "\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
# ESC and what follows it: CSI (ESC [ … final), OSC (ESC ] … BEL or ESC \), DCS, SOS,
# PM, APC strings (ESC P|X|^|_ … ESC \), a two-character sequence, or a lone ESC.
_ESCAPE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|[PX^_][^\x1b]*(?:\x1b\\)?|[ -~]?)"
)
_BREAKS = re.compile("[\t\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")

# Characters a robot reads as markup, each replaced by its full-width twin: < > make
# tags (WeCom <@all>, <font>; Feishu <at>; DingTalk's HTML), @ makes a mention
# (DingTalk @所有人, @138…), [ ] make markdown links and images.
_MARKUP = str.maketrans({"<": "＜", ">": "＞", "@": "＠", "[": "［", "]": "］"})
_SUSPECT = re.compile(r"[<>@\[\]&]|://|[A-Za-z0-9]\.[A-Za-z0-9]")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")  # &lt; &#60; would decode to markup
# a run of host-name characters holding a dot; a host name when a label after a dot is
# a top-level domain as linkifiers see one (two or more letters, or punycode)
_RUN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z0-9.-]*")
# an IPv4 address after // or before a path or port (a bare 1.2.3.4 may be a duty id)
_IPV4 = r"\d{1,3}(?:\.\d{1,3}){3}"
_ADDRESS = re.compile(rf"(?<=//){_IPV4}|(?<![\d.]){_IPV4}(?=[/:])")


def printable(text: str) -> str:
    """`text` without control characters (tab and newline kept) or escape sequences."""
    if _CONTROL.search(text) is None:
        return text
    if "\x1b" in text:
        text = _ESCAPE.sub("", text)
    return _CONTROL.sub("", text)


def one_line(text: str) -> str:
    """`text` printable on one line: every run of line breaks and tabs one space."""
    return printable(_BREAKS.sub(" ", text))


def _defang(match: re.Match[str]) -> str:
    return match[0].replace(".", "[.]")


def _defang_host(match: re.Match[str]) -> str:
    run = match[0]
    for label in run.split(".")[1:]:
        if (len(label) >= 2 and label.isalpha()) or label[:4].lower() == "xn--":
            return run.replace(".", "[.]")
    return run


def inert(text: str) -> str:
    """`text` on one line with nothing a chat robot would read as a mention, a tag or a
    link: markup characters as their full-width twins, URLs and host names defanged."""
    text = one_line(text)
    if _SUSPECT.search(text) is None:
        return text
    text = _ENTITY.sub("＆", text).translate(_MARKUP)
    text = text.replace("://", "[:]//")
    text = _RUN.sub(_defang_host, text)
    return _ADDRESS.sub(_defang, text)
