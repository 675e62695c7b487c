"""A table as a grid of cell texts (from text, .docx, .xlsx or .csv) → tasks.

Rows as real tables have them: a header (found by meaning; repeated on each page
or section, skipped), title and section rows across the whole width, cells
merged down (blank = same as above: always for section columns; for the units
and time columns of text and CSV, where a merge cannot be told from a blank, while
the row starts no new heading, and said so in the report; partners and leader
with their units), a task over several rows, several numbered tasks in one cell
(a calendar's month), lead and partners in one cell.
"""

from __future__ import annotations

import re
from collections.abc import Mapping as MappingType
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..core.grammar import Vocabulary, read_phrases
from .columns import ColumnsError, Mapping, full_width, header_row, header_rows, map_columns
from .numbering import Entry, NumberingError, assign_ids
from .rows import Row, join_broken, split_person, split_units, squash
from .schoolyear import is_calendar, school_year
from .subjects import subject_units
from .textable import Grid, TableFormatError, measure_title, title_of
from .words import (
    FIELD_LABELS,
    MEASURE,
    MEASURE_AT_START,
    SECTION,
    TASK,
    cn_int,
    header_field,
    key,
)

SPLIT_SHARE = 0.6  # a table lists several tasks per row when most rows hold a list
_ITEM = re.compile(r"^\s*(\d{1,3})\s*[.．、]\s*")  # the number must be the next in the list
_INLINE_ITEM = re.compile(r"(?<=[。；;])\s*(\d{1,3})\s*[.．、]")
_UNITS_NOTE = re.compile(r"[（(]\s*(?:牵头|责任)单位\s*[：:；;]\s*([^（）()]{1,80})[）)]")
LABEL_MAX = 30  # a section heading longer than this is not shown in the section path
_WITH_PERSON = re.compile(r"责任人|领导|负责人")  # 责任单位及责任人: a unit, then a person


@dataclass(slots=True)
class Parsed:
    """What a table or notice reader found: tasks, how it read them, the title."""

    rows: list[Row]
    title: str = ""
    layout: str = "table"
    mapping: Mapping | None = None


@dataclass(frozen=True, slots=True)
class Columns:
    """The header row and the task, units, time-limit and partners columns (0-based)."""

    header_row: int
    text: int
    units: int | None
    time_limit: int | None
    partners: int | None = None


def find_header(grid: Sequence[Sequence[str]]) -> Columns | None:
    """The header row and main columns of a grid, by the header's names alone."""
    index = header_row(grid)
    if index is None:
        return None
    mapping = map_columns(grid, index, Vocabulary())
    text = _task_column(mapping, grid[index])
    if text is None:
        return None
    return Columns(
        index, text, mapping.first("units"), mapping.first("time"), mapping.first("partners")
    )


def _task_column(mapping: Mapping, header: Sequence[str]) -> int | None:
    """The task column; with no content to judge, the rightmost column named as a task."""
    found = mapping.first("task")
    if found is not None:
        return found
    named = [c for c, cell in enumerate(header) if header_field(cell) == "task"]
    return named[-1] if named else None


def items_of(cell: str) -> list[tuple[int, str]]:
    """The numbered items of a cell (1.… 2.… at line starts, or after 。；), when it
    holds a list of two or more that counts up from 1; else []."""
    found: list[tuple[int, list[str]]] = []
    for line in cell.splitlines():
        start = _ITEM.match(line)
        if start is not None and int(start[1]) == len(found) + 1:
            found.append((int(start[1]), [line[start.end() :]]))
        elif found:
            found[-1][1].append(line)
        elif line.strip():
            return []
    items = [(number, "\n".join(lines)) for number, lines in found]
    if len(items) == 1:  # 1.…；2.…； on one line
        parts = _inline_items(items[0][1])
        if parts:
            items = [(n, p) for n, p in enumerate(parts, start=1)]
    return items if len(items) >= 2 else []


def _inline_items(text: str) -> list[str]:
    expected, cuts = 2, []
    for m in _INLINE_ITEM.finditer(text):
        if int(m[1]) == expected:
            cuts.append(m)
            expected += 1
    if not cuts:
        return []
    parts, last = [], 0
    for m in cuts:
        parts.append(text[last : m.start()])
        last = m.end()
    parts.append(text[last:])
    return [p.strip() for p in parts]


def _strip_number(text: str) -> tuple[int | None, str]:
    flat = squash(text)
    match = TASK.match(flat)
    return (int(match[1]), flat[match.end() :]) if match else (None, flat)


@dataclass(slots=True)
class _Headings:
    section: str = ""
    section_no: int | None = None
    measure: str = ""
    measure_no: int = 0
    labels: tuple[str, ...] = ()
    label_numbers: tuple[int | None, ...] = ()

    def path(self) -> tuple[tuple[str, ...], tuple[int | None, ...]]:
        """(headings outermost first, each heading's own number)."""
        pairs = [(self.section, self.section_no), (self.measure, self.measure_no or None)]
        pairs += list(zip(self.labels, self.label_numbers, strict=True))
        kept = [(text, number) for text, number in pairs if text]
        return tuple(t for t, _ in kept), tuple(n for _, n in kept)

    def shown(self) -> str:
        """The headings a person reads as the section (not a column's long lists)."""
        labels = [label for label in self.labels if len(label) <= LABEL_MAX]
        return " / ".join(p for p in (self.section, *labels) if p)


def _heading_number(text: str) -> int | None:
    for pattern in (SECTION, MEASURE_AT_START, TASK):
        match = pattern.match(text)
        if match:
            try:
                return int(match[1]) if match[1].isdigit() else cn_int(match[1])
            except ValueError:
                return None
    return None


class _Reader:
    def __init__(self, grid: Grid, mapping: Mapping, vocabulary: Vocabulary, task: int) -> None:
        self.grid = grid
        self.mapping = mapping
        self.vocabulary = vocabulary
        self.task = task
        self.groups = mapping.all("group")
        self.heads = _Headings()
        self.above: dict[int, str] = {}  # the last text of each column (merged cells)
        self.entries: list[Entry] = []
        self.lists: list[list[tuple[int, str]]] = []  # each entry's numbered items
        self.previous: Sequence[str] = ()  # the row above, as written
        self.more: list[list[str]] = []  # each entry's text carried over to the next rows
        self.numbered = 0  # entries with a number of their own
        self.new_heading = False  # does this row start a heading in a section column?

    def line(self, r: int, c: int) -> int | None:
        row = self.grid.lines[r]
        return row[min(c, len(row) - 1)] if row else None

    def set_section(self, text: str) -> None:
        flat = join_broken(text)
        self.heads = _Headings(section=flat, section_no=_heading_number(flat))

    def set_measure(self, text: str, line: int | None) -> None:
        try:
            number, title = measure_title(text)
        except ValueError as exc:
            raise TableFormatError(str(exc), line) from None
        self.heads.measure, self.heads.measure_no = title, number
        self.heads.labels = ()

    def group_cells(self, r: int, cells: Sequence[str]) -> None:
        """The section, measure and other headings of a row's section columns."""
        labels: list[str] = []
        numbers: list[int | None] = []
        self.new_heading = False
        for c in self.groups:
            text = cells[c] if c < len(cells) else ""
            self.new_heading |= bool(text.strip()) and text != self.above.get(c)
            if not text.strip():
                text = self.above.get(c, "")
            self.above[c] = text
            flat = join_broken(text)
            measure_at = MEASURE.search(flat)
            if SECTION.match(flat):
                end = measure_at.start() if measure_at else len(flat)
                if flat[:end] != self.heads.section:
                    self.set_section(flat[:end])
                flat = flat[end:]
            if flat and MEASURE_AT_START.match(flat):
                if flat != self.heads.measure:
                    self.set_measure(flat, self.line(r, c))
            elif flat:
                labels.append(flat)
                numbers.append(_heading_number(flat))
        self.heads.labels, self.heads.label_numbers = tuple(labels), tuple(numbers)

    def value(self, cells: Sequence[str], c: int, merge: bool = True) -> tuple[str, bool]:
        """A cell's text; a blank one in text or CSV is read as merged with the one above,
        as long as the row starts no new heading (a merge stays inside its section)."""
        text = cells[c].strip() if c < len(cells) else ""
        inherited = False
        if (
            not text
            and merge
            and not self.grid.explicit
            and not self.new_heading
            and self.above.get(c)
        ):
            text, inherited = self.above[c], True
        self.above[c] = text
        return text, inherited

    def read(self, start: int) -> None:
        cells_all = self.grid.cells
        header = self.mapping.header_row
        headers = (
            {
                tuple(key(c) for c in cells_all[r])
                for r in range(header, start)
                if header is not None
            }
            if header is not None
            else set()
        )
        m = self.mapping
        for r in range(start, len(cells_all)):
            cells = cells_all[r]
            if tuple(key(c) for c in cells) in headers:
                continue  # the header again, on a new page or under a new section
            if full_width(cells) or (len(cells) == 1 and m.width > 1):
                text = next(c for c in cells if c.strip())
                if MEASURE_AT_START.match(join_broken(text)):
                    self.set_measure(text, self.line(r, 0))
                else:
                    self.set_section(text)
                    self.above = {c: v for c, v in self.above.items() if c not in self.groups}
                continue
            self.group_cells(r, cells)
            raw = cells[self.task] if self.task < len(cells) else ""
            if not raw.strip():
                continue
            flat = join_broken(raw)
            if not TASK.match(squash(raw)) and (
                SECTION.match(flat) or MEASURE_AT_START.match(flat)
            ):
                for part in re.split(r"(?=[（(][一二三四五六七八九十]+[）)])", flat):
                    if SECTION.match(part):
                        self.set_section(part)
                    elif part:
                        self.set_measure(part, self.line(r, self.task))
                continue
            self.add(r, cells, raw)
            self.previous = cells

    def add(self, r: int, cells: Sequence[str], raw: str) -> None:
        m = self.mapping
        notes: list[tuple[str, str]] = []
        values: dict[str, str] = {}
        merged_units = False  # partners and leader go with their units: merged with them
        people: list[str] = []
        for name in ("units", "partners", "leader"):
            texts = []
            for c in m.all(name):
                text, inherited = self.value(cells, c, merge=name == "units" or merged_units)
                merged_units |= name == "units" and inherited
                if inherited:
                    notes.append(("inherited", f"{FIELD_LABELS[name]}：“{text}”"))
                if text and name == "units" and _WITH_PERSON.search(m.columns[c].header):
                    text, person = split_person(squash(text))  # 责任单位及责任人
                    people.append(person)
                if text:
                    texts.append(squash(text))
            if name == "leader":
                texts = [*people, *texts]
            values[name] = "、".join(texts) if name != "leader" else " ".join(t for t in texts if t)
        time_col = m.first("time")
        time_limit: str | None = None
        if time_col is not None:
            text, inherited = self.value(cells, time_col)
            time_limit = squash(text)
            if inherited:
                notes.append(("inherited", f"{FIELD_LABELS['time']}：“{time_limit}”"))
        number_col = m.first("number")
        own, text = _strip_number(raw)
        items = items_of(raw)
        if items:  # 1.…2.… in one cell: the numbers are its items', not the task's
            own = None
        row_number = None
        if number_col is not None:
            digits = re.sub(r"\D", "", cells[number_col] if number_col < len(cells) else "")
            row_number = int(digits) if digits and len(digits) <= 4 else None
            if row_number is not None:
                own = row_number
        if self._continues(cells, own, raw):
            self.more[-1].append(squash(raw))
            return
        units = values["units"]
        if not units and not m.all("units"):
            noted = _units_note(text)
            if noted:
                units, text = noted
            else:
                units = subject_units(text)
                if units:
                    notes.append(("units-from-text", units))
        h = self.heads
        path, path_numbers = h.path()
        self.entries.append(
            Entry(
                line=self.line(r, self.task),
                path=path,
                path_numbers=path_numbers,
                section=h.shown(),
                measure=h.measure,
                measure_no=h.measure_no,
                number=own,
                text=text,
                units=units,
                partners=values["partners"],
                leader=values["leader"],
                time_limit=time_limit,
                notes=notes,
                row_number=row_number,
            )
        )
        self.lists.append(items)
        self.more.append([])
        self.numbered += own is not None

    def _continues(self, cells: Sequence[str], own: int | None, raw: str) -> bool:
        """A task cell carried over to the next row: the table numbers its tasks, and this
        row has no number and nothing new outside the task and section columns."""
        if not self.entries or own is not None or TASK.match(squash(raw)):
            return False
        if self.numbered < max(1, len(self.entries) * 0.8):
            return False
        if self.entries[-1].path != self.heads.path()[0]:
            return False
        for name in ("units", "partners", "leader", "time", "number"):
            for c in self.mapping.all(name):
                text = cells[c].strip() if c < len(cells) else ""
                above = self.previous[c].strip() if c < len(self.previous) else ""
                if text and text != above:
                    return False
        return True

    def finish(self, school_year_start: int) -> list[Entry]:
        """Split the numbered lists of cells into tasks where the table calls for it."""
        for entry, more in zip(self.entries, self.more, strict=True):
            if more:
                entry.text = "".join([entry.text, *more])
        limits = [e.time_limit or "" for e in self.entries]
        if is_calendar(limits):
            for entry, limit in zip(
                self.entries, school_year(limits, school_year_start), strict=True
            ):
                if entry.time_limit and limit != entry.time_limit:
                    entry.notes.append(("next-year", f"{entry.time_limit} → {limit}"))
                    entry.time_limit = limit
        with_lists = sum(1 for items in self.lists if items)
        calendar = (  # rows that are periods, each listing its tasks (no 序号 per row)
            bool(self.entries)
            and self.mapping.first("number") is None
            and with_lists >= SPLIT_SHARE * len(self.entries)
        )
        out: list[Entry] = []
        for index, (entry, items) in enumerate(zip(self.entries, self.lists, strict=True)):
            if calendar:
                parts = items or [(entry.number or 1, entry.text)]
                for number, text in parts:
                    out.append(_item(entry, number, text, row_group=index))
            elif items and _own_readings(items, self.vocabulary):
                for number, text in items:
                    child = _item(entry, entry.number, text, row_group=None)
                    child.sub, child.parent = number, index
                    out.append(child)
            else:
                out.append(entry)
        return out


def _item(entry: Entry, number: int | None, text: str, row_group: int | None) -> Entry:
    units, rest = _units_note(squash(text)) or (entry.units, squash(text))
    return replace(
        entry,
        number=number,
        text=rest,
        units=units or entry.units,
        notes=list(entry.notes),
        row_group=row_group,
    )


def _units_note(text: str) -> tuple[str, str] | None:
    """（责任单位：X、Y） at the end of a task's text: (units, text without it)."""
    match = _UNITS_NOTE.search(text)
    if match is None:
        return None
    return match[1].strip(), (text[: match.start()] + text[match.end() :]).strip()


def _own_readings(items: Sequence[tuple[int, str]], vocabulary: Vocabulary) -> bool:
    """Do a cell's numbered items carry units or time limits of their own, not all alike?"""
    readings = []
    for _, text in items:
        units = _units_note(squash(text))
        rules = read_phrases(None, text, vocabulary).rules
        readings.append(
            (
                tuple(split_units(units[0])[0]) if units else (),
                tuple(r.model_dump_json(exclude={"phrase"}) for r in rules),
            )
        )
    carried = [r for r in readings if r != ((), ())]
    return len(carried) >= 2 and len(set(readings)) > 1


def read_grid(
    grid: Sequence[Sequence[str]] | Grid,
    line_numbers: Sequence[int] | None = None,
    *,
    vocabulary: Vocabulary | None = None,
    override: MappingType[str, str] | None = None,
) -> list[Row]:
    """Task rows of a grid; raise TableFormatError (with the row's line) when unreadable."""
    return parse_grid(_as_grid(grid, line_numbers), vocabulary or Vocabulary(), override).rows


def _as_grid(grid: Sequence[Sequence[str]] | Grid, line_numbers: Sequence[int] | None) -> Grid:
    if isinstance(grid, Grid):
        return grid
    numbers = list(line_numbers) if line_numbers is not None else list(range(1, len(grid) + 1))
    return Grid(
        [list(r) for r in grid],
        [[n] * max(1, len(r)) for r, n in zip(grid, numbers, strict=True)],
        explicit=False,
    )


def parse_grid(
    grid: Grid,
    vocabulary: Vocabulary,
    override: MappingType[str, str] | None = None,
    school_year_start: int = 9,
) -> Parsed:
    """Read a table: its columns (by meaning, then content), then its rows as tasks."""
    cells = grid.cells
    span = header_rows(cells)
    header, last = span if span is not None else (None, None)
    try:
        mapping = map_columns(cells, header, vocabulary, override, last)
    except ColumnsError as exc:
        line = grid.lines[header][0] if header is not None and grid.lines[header] else None
        raise TableFormatError(str(exc), line) from None
    task = mapping.first("task")
    if task is None and header is not None:
        task = _task_column(mapping, cells[header])
    if task is None or (header is None and not (mapping.all("units") or mapping.all("time"))):
        raise TableFormatError(
            "找不到任务列 (no header row found, and no column reads as the tasks): "
            "name the columns in a header row (具体工作/工作任务, 责任单位, 完成时限) "
            "or give them with --columns task=N,units=N,time=N"
        )
    reader = _Reader(grid, mapping, vocabulary, task)
    start = last + 1 if last is not None else 0
    titles: list[str] = []
    for r in range(start if header is not None else 0):
        if full_width(cells[r]) or len(cells[r]) == 1:
            text = join_broken(next((c for c in cells[r] if c.strip()), ""))
            if SECTION.match(text):
                reader.set_section(text)
            elif text:
                titles.append(text)
    title = grid.title or title_of(titles)
    reader.read(start)
    try:
        rows = assign_ids(reader.finish(school_year_start))
    except NumberingError as exc:
        raise TableFormatError(str(exc), exc.line) from None
    return Parsed(rows, title, "table", mapping)
