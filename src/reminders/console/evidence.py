"""Evidence files (佐证材料) uploaded in the console: checked, stored, listed, served.

A file is accepted when its name ends in a known extension (images, PDF,
Office documents) *and* its first bytes are that format's signature, and when
it is no larger than the limit. It is stored under `<state>/evidence/` as its
random id (32 hex digits, made here, 0600): the uploaded name is kept only as
metadata in the ledger's database, so no name the user sends ever becomes a
path. What the file is served as comes from the table below, never from the
browser's claim.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from ..ledger.schema import console_evidence
from ..ledger.store import reading
from ..statedir import ensure_private_dir, write_private

_ZIP = (b"PK\x03\x04",)
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

# extension → (served content type, accepted leading bytes)
KINDS: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", (b"RIFF",)),
    ".heic": ("image/heic", ()),  # ISO media: checked by _iso_brand
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".doc": ("application/msword", _OLE),
    ".xls": ("application/vnd.ms-excel", _OLE),
    ".ppt": ("application/vnd.ms-powerpoint", _OLE),
    ".docx": (_DOCX, _ZIP),
    ".xlsx": (_XLSX, _ZIP),
    ".pptx": (_PPTX, _ZIP),
}
ACCEPT = ",".join(KINDS)  # for <input type=file accept=…>
KINDS_TEXT = "图片（jpg、png、gif、webp、heic）、PDF、Word、Excel、PowerPoint 文档"
INLINE = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"})
_ID = re.compile(r"^[0-9a-f]{32}$")
SNIFF_BYTES = 16


class Refused(Exception):
    """Why a file was not accepted, in words for the user."""


def _iso_brand(head: bytes) -> bool:
    return head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1")


def content_type(filename: str, head: bytes) -> str:
    """The type a file is stored and served as; Refused when its name or bytes are not
    one of the accepted kinds."""
    suffix = PurePosixPath(clean_name(filename)).suffix.lower()
    kind = KINDS.get(suffix)
    if kind is None:
        raise Refused(f"不支持的文件类型“{suffix or '无扩展名'}”。只接受 {KINDS_TEXT}。")
    served, signatures = kind
    genuine = (
        _iso_brand(head)
        if suffix == ".heic"
        else any(head.startswith(sig) for sig in signatures)
        and (suffix != ".webp" or head[8:12] == b"WEBP")
    )
    if not genuine:
        raise Refused(f"文件内容与扩展名“{suffix}”不符，未保存。请上传原始的 {KINDS_TEXT}。")
    return served


def clean_name(filename: str) -> str:
    """The last part of an uploaded name, printable, at most 120 characters: for display."""
    base = PureWindowsPath(PurePosixPath(filename.replace("\x00", "")).name).name
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if ch.isprintable()).strip().lstrip(".")
    if len(base) > 120:
        stem, dot, suffix = base.rpartition(".")
        base = (stem[: 110 - len(suffix)] + dot + suffix) if dot else base[:120]
    return base or "附件"


@dataclass(frozen=True, slots=True)
class Evidence:
    id: str
    occurrence_id: str
    unit: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime

    @property
    def path(self) -> str:
        return f"/console/evidence/{self.id}"

    @property
    def inline(self) -> bool:
        return self.content_type in INLINE


def _evidence(record: Any) -> Evidence:
    return Evidence(**record._mapping)


class EvidenceStore:
    """Files in `<state>/evidence/`, their metadata in the ledger's database."""

    def __init__(self, engine: Engine, state_dir: Path) -> None:
        self.engine = engine
        self.directory = state_dir / "evidence"

    def file(self, evidence_id: str) -> Path | None:
        """The stored file of an id this store made; None for anything else."""
        if not _ID.match(evidence_id):
            return None
        path = self.directory / evidence_id
        return path if path.is_file() else None

    def save(
        self,
        data: bytes,
        filename: str,
        kind: str,
        occurrence_id: str,
        unit: str,
        by: str,
        now: datetime,
    ) -> Evidence:
        evidence = Evidence(
            secrets.token_hex(16),
            occurrence_id,
            unit,
            clean_name(filename),
            kind,
            len(data),
            hashlib.sha256(data).hexdigest(),
            by,
            now,
        )
        ensure_private_dir(self.directory)
        write_private(self.directory / evidence.id, data)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(console_evidence).values(**_values(evidence)))
        except BaseException:
            (self.directory / evidence.id).unlink(missing_ok=True)
            raise
        return evidence

    def discard(self, evidence: Evidence) -> None:
        """Take back a file whose action did not happen."""
        with self.engine.begin() as conn:
            conn.execute(delete(console_evidence).where(console_evidence.c.id == evidence.id))
        with contextlib.suppress(OSError):
            (self.directory / evidence.id).unlink()

    def get(self, evidence_id: str) -> Evidence | None:
        if not _ID.match(evidence_id):
            return None
        with reading(self.engine) as conn:
            record = conn.execute(
                select(console_evidence).where(console_evidence.c.id == evidence_id)
            ).first()
        return _evidence(record) if record is not None else None

    def of_occurrence(self, occurrence_id: str) -> list[Evidence]:
        query = (
            select(console_evidence)
            .where(console_evidence.c.occurrence_id == occurrence_id)
            .order_by(console_evidence.c.uploaded_at)
        )
        with reading(self.engine) as conn:
            return [_evidence(r) for r in conn.execute(query)]

    def of_units(self, units: Iterable[str]) -> dict[str, list[Evidence]]:
        """Occurrence id → its files, for every file of these units."""
        query = (
            select(console_evidence)
            .where(console_evidence.c.unit.in_(list(units)))
            .order_by(console_evidence.c.uploaded_at)
        )
        found: dict[str, list[Evidence]] = {}
        with reading(self.engine) as conn:
            for record in conn.execute(query):
                evidence = _evidence(record)
                found.setdefault(evidence.occurrence_id, []).append(evidence)
        return found


def _values(evidence: Evidence) -> dict[str, object]:
    return {name: getattr(evidence, name) for name in Evidence.__slots__}
