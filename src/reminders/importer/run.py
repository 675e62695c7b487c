"""One import, start to finish, without printing: read, build, merge, write."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from ..atomic import write_atomic
from ..exceptions import ConfigError, Problem
from .build import build
from .context import ImportContext
from .emit import HEADER, IDS_BY_MEASURE, IDS_OWN, dump_document, dump_duties, round_trip_yaml
from .merge import merge
from .report import Attention, Report
from .source import ReadOptions, read_table
from .units import units_with


@dataclass(frozen=True, slots=True)
class Options:
    source: Path
    target: Path
    year: int | None = None
    dry_run: bool = False
    force: bool = False
    add_units: bool = False
    columns: dict[str, str] | None = None  # --columns task=3,units=4,time=5
    plan_year: int | None = None  # written as the plan's own `plan_year:`
    notes: tuple[str, ...] = ()  # said at the end of the report (which plan, and how)
    make_folder: bool = False  # the target's folder (duties/) is made when it is written


def _refuse(target: Path, message: str, line: int | None = None) -> ConfigError:
    return ConfigError(
        [
            Problem(
                f"{message}：请改正它，或用 --force 覆盖 (use --force to replace it)",
                str(target),
                line,
            )
        ]
    )


def _existing(target: Path, force: bool) -> tuple[str | None, CommentedMap | None]:
    """(text, document) of the duties file already there; (None, None) to start afresh."""
    if not target.exists():
        return None, None
    try:
        text = target.read_bytes().decode("utf-8-sig")
        document = round_trip_yaml().load(text)
    except OSError as exc:
        raise ConfigError(
            [Problem(f"无法读取 (cannot read): {exc.strerror or exc}", str(target))]
        ) from None
    except UnicodeDecodeError:
        if force:
            return None, None
        raise _refuse(
            target, "无法合并：不是 UTF-8 文本 (cannot merge into it: not UTF-8)"
        ) from None
    except YAMLError as exc:
        if force:
            return None, None
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise _refuse(
            target,
            f"无法合并：YAML 有误 (cannot merge into it: invalid YAML, {type(exc).__name__})",
            line,
        ) from None
    if document is None:
        return text, None
    is_duties = isinstance(document, CommentedMap) and (
        not document
        or isinstance(document.get("duties"), list)
        or ("duties" in document and document["duties"] is None)
    )
    if not is_duties:
        if force:
            return text, None
        raise _refuse(
            target,
            "不是任务清单文件，没有 `duties:` 列表，未合并 (not a duties file, nothing merged)",
            1,
        )
    return text, document


def run_import(options: Options, context: ImportContext) -> Report:
    read = ReadOptions(context.vocabulary, options.columns, context.school_year_start)
    table = read_table(options.source, read)
    built = build(table.rows, context.vocabulary, context.known_units)
    report = Report(
        source=str(options.source),
        kind=table.kind,
        target=str(options.target),
        tasks=len(table.rows),
        understood=built.understood,
        encoding=table.encoding,
        attention=built.attention,
        unknown_units=built.unknown_units,
        warnings=[str(w) for w in context.warnings],
        dry_run=options.dry_run,
        layout=table.layout,
        columns=[c.as_json() for c in table.mapping.columns] if table.mapping else [],
        duties=built.readings,
        notes=list(options.notes),
    )
    if not options.target.parent.is_dir() and not options.make_folder:
        raise ConfigError(
            [Problem("输出目录不存在 (the output directory does not exist)", str(options.target))]
        )
    old_text, document = _existing(options.target, options.force)
    if document is None:
        source = os.path.relpath(options.source.resolve(), options.target.parent.resolve())
        ids = IDS_BY_MEASURE if all(not r.key for r in table.rows) else IDS_OWN
        header = HEADER.format(source=Path(source).as_posix(), ids=ids)
        text = dump_duties(table.title, options.year, built.duties, header, options.plan_year)
        report.added = [str(d["id"]) for d in built.duties]
    else:
        merged = merge(document, built.duties, options.force)
        dirty = bool(merged.added or merged.updated)
        if options.year is not None and document.get("source_year") != options.year:
            dirty = True
            if "source_year" in document:
                document["source_year"] = options.year
            else:
                document.insert(1 if "title" in document else 0, "source_year", options.year)
        if options.plan_year is not None and document.get("plan_year") != options.plan_year:
            dirty = True
            if "plan_year" in document:
                document["plan_year"] = options.plan_year
            else:
                keys = list(document)
                before = next((k for k in ("source_year", "title") if k in keys), None)
                at = keys.index(before) + 1 if before is not None else 0
                document.insert(at, "plan_year", options.plan_year)
        if not document.get("title") and table.title:
            dirty = True
            document.insert(0, "title", table.title)
        text = dump_document(document) if dirty or old_text is None else old_text
        report.added, report.updated, report.unchanged = (
            merged.added,
            merged.updated,
            merged.unchanged,
        )
        report.kept_edits, report.gone = merged.kept_edits, merged.gone
        for duty_id in merged.gone:
            report.attention.append(
                Attention(duty_id, "gone", "仍留在任务清单文件中；如已不需要，请在那里删除")
            )
    writes: list[tuple[Path, str]] = []
    if text != old_text:
        writes.append((options.target, text))
    if options.add_units and built.unknown_units:
        if not context.units_path.exists():
            raise ConfigError(
                [Problem("--add-units：没有单位文件 (no units file)", str(context.units_path))]
            )
        writes.append((context.units_path, units_with(context.units_path, built.unknown_units)))
        report.units_added = list(built.unknown_units)
        report.attention = [a for a in report.attention if a.reason != "unknown-unit"]
    if not options.dry_run:
        for path, content in writes:
            try:
                if options.make_folder:
                    path.parent.mkdir(exist_ok=True)
                write_atomic(path, content.encode("utf-8"))
            except OSError as exc:
                done = (
                    f"；已写入 (already written): {', '.join(report.written)}"
                    if report.written
                    else ""
                )
                raise ConfigError(
                    [Problem(f"无法写入 (cannot write): {exc.strerror or exc}{done}", str(path))]
                ) from None
            report.written.append(str(path))
    return report
