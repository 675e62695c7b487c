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
            raise DecodeError(f"不支持 {name} 编码 ({name} text is not supported)：请另存为 UTF-8")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise DecodeError("二进制数据，不是文本表格 (binary data (NUL byte))", _line_of(raw, nul))
    head = raw[:65536]
    controls = sum(1 for byte in head if byte in _CONTROL)
    if controls > max(8, len(head) // 100):
        raise DecodeError("二进制数据，不是文本表格 (binary data (control characters))")


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
        raise DecodeError("文件是空的 (the file is empty)")
    _check_binary(raw)
    try:
        return Decoded(raw.decode("utf-8-sig"), "UTF-8")
    except UnicodeDecodeError:
        pass
    mixed = _mixed(raw)
    if mixed is not None:
        utf8_line, other_line = mixed
        raise DecodeError(
            f"编码混杂 (mixed encodings)：第 {utf8_line} 行是 UTF-8，第 {other_line} 行不是；"
            "请把整个文件另存为 UTF-8",
            other_line,
        )
    try:
        return Decoded(raw.decode("gb18030"), "GBK")
    except UnicodeDecodeError as exc:
        raise DecodeError(
            "既不是 UTF-8 也不是 GBK 文本 (neither UTF-8 nor GBK)：请另存为 UTF-8",
            _line_of(raw, exc.start),
        ) from None
