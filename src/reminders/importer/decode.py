"""Bytes of a text or CSV table → text: UTF-8 or GBK (GB18030), never a guess.

A file in one encoding is decoded whole. A file whose lines are partly UTF-8
and partly GBK (two files pasted together) is refused, naming one line of
each, rather than decoded into mojibake. Binary data is refused too.
"""

from __future__ import annotations

from dataclasses import dataclass


class DecodeError(ValueError):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str


_BOMS = {b"\xff\xfe": "UTF-16 LE", b"\xfe\xff": "UTF-16 BE"}
# Control characters that never occur in a text table (tab, LF, CR, FF are fine).
_CONTROL = frozenset(range(32)) - {9, 10, 12, 13}


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _check_binary(raw: bytes) -> None:
    for bom, name in _BOMS.items():
        if raw.startswith(bom):
            raise DecodeError(f"{name} text is not supported; save the file as UTF-8")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise DecodeError("binary data (NUL byte), not a text table", _line_of(raw, nul))
    head = raw[:65536]
    controls = sum(1 for byte in head if byte in _CONTROL)
    if controls > max(8, len(head) // 100):
        raise DecodeError("binary data (control characters), not a text table")


def _mixed(raw: bytes) -> tuple[int, int] | None:
    """(a UTF-8 line, a non-UTF-8 line) when the file mixes them, else None."""
    utf8_line = other_line = 0
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            other_line = other_line or number
        else:
            utf8_line = utf8_line or number
        if utf8_line and other_line:
            return utf8_line, other_line
    return None


def decode(raw: bytes) -> Decoded:
    """Decode a table's bytes; raise DecodeError saying why not."""
    if not raw.strip():
        raise DecodeError("the file is empty")
    _check_binary(raw)
    try:
        return Decoded(raw.decode("utf-8-sig"), "UTF-8")
    except UnicodeDecodeError:
        pass
    mixed = _mixed(raw)
    if mixed is not None:
        utf8_line, other_line = mixed
        raise DecodeError(
            f"mixed encodings: line {utf8_line} is UTF-8 but line {other_line} is not; "
            "save the whole file in one encoding (UTF-8)",
            other_line,
        )
    try:
        return Decoded(raw.decode("gb18030"), "GBK")
    except UnicodeDecodeError as exc:
        raise DecodeError(
            "neither UTF-8 nor GBK text; save the file as UTF-8", _line_of(raw, exc.start)
        ) from None
