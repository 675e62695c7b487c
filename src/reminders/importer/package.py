"""A .docx or .xlsx package (a ZIP file), checked before it is read and read as a stream.

A package is small on disk and may claim anything inside: a million members, a
member that expands to gigabytes (a zip bomb), XML of millions of elements or
nested a million deep, entities that expand a billion times. So:

- before anything is expanded, the package's members and their expanded size, as
  it declares them, must fit the bounds (Python's ZIP reader never expands a
  member past its declared size: it stops and reports a bad CRC);
- only the XML parts a reader needs are expanded (never images), in chunks, fed to
  lxml's event parser (no tree is built, entities are not expanded, libxml2 refuses
  amplification) with the bytes and tags of all the XML read counted as they come:
  past IMPORT_XML_MAX_BYTES or IMPORT_XML_MAX_TAGS the reading stops.

The readers (docxtable.py, xlsx.py) are targets of that parser: they keep only what
a table needs, so memory follows the table, not the file.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Protocol

from lxml import etree  # type: ignore[import-untyped]

from ..limits import (
    IMPORT_XML_MAX_BYTES,
    IMPORT_XML_MAX_TAGS,
    IMPORT_ZIP_MAX_BYTES,
    IMPORT_ZIP_MAX_MEMBERS,
)
from ..userfiles import size_text

_CHUNK = 1 << 16


class PackageError(Exception):
    """A package that is damaged or past a bound; the message says which."""


class Target(Protocol):
    """What lxml's parser calls as it reads (tags as `{namespace}name`)."""

    def start(self, tag: str, attrib: dict[str, str]) -> None: ...

    def end(self, tag: str) -> None: ...

    def data(self, text: str) -> None: ...

    def close(self) -> None: ...


def _n(count: int) -> str:
    return f"{count:,}"


@dataclass(slots=True)
class Package:
    kind: str  # "docx" or "xlsx"
    archive: zipfile.ZipFile
    names: frozenset[str] = field(default_factory=frozenset)
    xml_bytes: int = 0  # XML expanded so far, all parts together
    tags: int = 0  # tags ('<') in it

    def feed(self, name: str, target: Target) -> None:
        """Stream the XML part `name` into `target`; PackageError when the part is missing,
        damaged or not XML, or the XML read so far passes a bound. Whatever `target`
        raises (a table past a bound) stops the reading and is raised as it is."""
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise PackageError(f"压缩包中缺少 (missing from the package) {name}") from None
        if self.xml_bytes + info.file_size > IMPORT_XML_MAX_BYTES:
            raise self._too_much_xml(name)
        parser = etree.XMLParser(
            target=target, resolve_entities=False, no_network=True, huge_tree=False
        )
        try:
            with self.archive.open(info) as member:
                while chunk := member.read(_CHUNK):
                    self.xml_bytes += len(chunk)
                    self.tags += chunk.count(b"<")
                    if self.xml_bytes > IMPORT_XML_MAX_BYTES:
                        raise self._too_much_xml(name)
                    if self.tags > IMPORT_XML_MAX_TAGS:
                        raise PackageError(
                            f"压缩包内的 XML 超过 {_n(IMPORT_XML_MAX_TAGS)} 个标签上限 "
                            f"(too many XML elements): {name}"
                        )
                    parser.feed(chunk)
            parser.close()
        except etree.XMLSyntaxError as exc:
            raise PackageError(f"XML 无法读取 (not readable XML): {name}: {exc}") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise PackageError(f"ZIP 压缩包已损坏 (a damaged ZIP package): {name}: {exc}") from None
        except (RuntimeError, NotImplementedError) as exc:  # encrypted, unknown compression
            raise PackageError(f"无法解压 (cannot unpack) {name}: {exc}") from None

    def _too_much_xml(self, name: str) -> PackageError:
        return PackageError(
            f"压缩包内的 XML 超过 {size_text(IMPORT_XML_MAX_BYTES)} 上限 (too much XML): {name}"
        )


def open_package(raw: bytes) -> Package:
    """The package in `raw`, checked; PackageError saying what is wrong otherwise."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise PackageError(
            "ZIP 压缩包已损坏，不是可读的 .docx 或 .xlsx (a damaged ZIP package)"
        ) from None
    if len(members) > IMPORT_ZIP_MAX_MEMBERS:
        raise PackageError(
            f"压缩包内有 {_n(len(members))} 个文件，超过 {_n(IMPORT_ZIP_MAX_MEMBERS)} 个上限 "
            "(too many files in the package)"
        )
    if sum(info.file_size for info in members) > IMPORT_ZIP_MAX_BYTES:
        raise PackageError(
            f"压缩包解压后超过 {size_text(IMPORT_ZIP_MAX_BYTES)} 上限 "
            "(the package unpacks to too much: a zip bomb?)"
        )
    names = frozenset(info.filename for info in members)
    if "word/document.xml" in names:
        return Package("docx", archive, names)
    if "xl/workbook.xml" in names:
        return Package("xlsx", archive, names)
    raise PackageError(
        "ZIP 文件既不是 Word .docx 也不是 Excel .xlsx "
        "(a ZIP file that is neither a Word .docx nor an Excel .xlsx)"
    )
