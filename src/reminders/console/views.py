"""What each console page shows, gathered from the closed loop, the ledger and the plan.

Synchronous (the web layer runs these in worker threads); every page's data
comes from the same functions the CLI, the links and the API use: occurrences
from `closedloop.lookup`, states from `LoopStore`, overdue and report counts from
`closedloop.overdue` / `closedloop.report`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from ..closedloop import lookup
from ..closedloop.links import link_base
from ..closedloop.loop import OVERDUE_REACH, Listed, Loop
from ..closedloop.state import Change, Closure
from ..core.occurrence import Occurrence, review_group
from ..core.plan import CompiledDuty, Plan
from .board import SOON, Board, Grain, Status, build_board, status, worst
from .evidence import Evidence

UNIT_AHEAD = timedelta(days=45)  # how far ahead a unit page looks by default
HISTORY_PAGE = 100


@dataclass(frozen=True, slots=True)
class Item:
    """One occurrence with its state, status and evidence files."""

    occurrence: Occurrence
    closure: Closure | None
    status: Status
    files: tuple[Evidence, ...] = ()

    @property
    def state(self) -> str:
        return self.closure.state if self.closure is not None else "open"

    @property
    def closed(self) -> bool:
        return self.closure is not None and self.closure.closed

    @property
    def sort_due(self) -> date:
        return self.occurrence.due


@dataclass(slots=True)
class Group:
    """A self-check (自查): the standing duties of one unit and period, closed together."""

    id: str
    members: list[Item]

    @property
    def first(self) -> Occurrence:
        return self.members[0].occurrence

    @property
    def status(self) -> Status:
        found = worst(m.status for m in self.members)
        assert found is not None
        return found

    @property
    def open(self) -> int:
        return sum(1 for m in self.members if not m.closed)

    @property
    def sort_due(self) -> date:
        return self.first.due


Entry = Item | Group


@dataclass(slots=True)
class Section:
    key: str
    title: str
    entries: list[Entry] = field(default_factory=list)


def _window_start(plan: Plan, today: date) -> date:
    return max(plan.start, today - OVERDUE_REACH)


class Boards:
    """The board, computed again only when it may have changed.

    The plan is immutable and replaced whole on a reload; a state change from any
    process adds a history row, so the ledger's revision grows. The last board is
    reused while the plan, the day, the view and the revision are the same; the last
    expansion while the plan and the span are (a state change needs only the states
    read again), and the states while the revision is (a reload needs only the
    expansion). One per console: two ledgers never share it.
    """

    def __init__(self) -> None:
        self._expansion: tuple[Plan, date, date, list[Occurrence]] | None = None
        self._closures: tuple[int, dict[str, Closure]] | None = None
        self._board: tuple[Plan, tuple[object, ...], Board] | None = None

    def closures(self, loop: Loop, revision: int) -> dict[str, Closure]:
        last = self._closures
        if last is not None and last[0] == revision:
            return last[1]
        found = loop.store.closures()
        self._closures = (revision, found)
        return found

    def occurrences(self, plan: Plan, start: date, end: date) -> list[Occurrence]:
        last = self._expansion  # one read: another thread may replace it meanwhile
        if last is not None and last[0] is plan and last[1:3] == (start, end):
            return last[3]
        found = lookup.between(plan, start, end)
        self._expansion = (plan, start, end, found)
        return found

    def board(self, loop: Loop, now: datetime, year: int, grain: Grain) -> Board:
        plan = loop.plan
        today = loop.today(now)
        revision = loop.store.revision()
        key = (year, grain, today, revision)
        last = self._board
        if last is not None and last[0] is plan and last[1] == key:
            return last[2]
        start = min(date(year, 1, 1), _window_start(plan, today))
        end = max(date(year, 12, 31), today + SOON)
        made = build_board(
            self.occurrences(plan, start, end),
            self.closures(loop, revision),
            units=plan.unit_names(),
            today=today,
            zone=loop.zone(),
            year=year,
            grain=grain,
            semesters=(plan.settings.semesters.spring, plan.settings.semesters.autumn),
        )
        self._board = (plan, key, made)
        return made


def warnings(loop: Loop, now: datetime) -> list[str]:
    """What the bureau should know about the config: the plan's warnings and a few more."""
    plan = loop.plan
    settings = plan.settings
    out = [str(p) for p in plan.warnings]
    if link_base(settings) is None:
        out.append(
            "未设置 loop.base_url（或 feeds.base_url）：提醒消息中的办结链接指向本机监听地址，"
            "手机可能打不开 (settings.yaml)"
        )
    today = loop.today(now)
    for year in (today.year, today.year + 1):
        if plan.calendar.is_provisional(year):
            out.append(
                f"{year} 年节假日安排尚无正式数据，该年日期为暂定；国务院公布后请写入 "
                "calendar.yaml 的 years (holiday data provisional)"
            )
    silent = [u.name for u in plan.units if not u.channels]
    if silent:
        out.append(
            f"{len(silent)} 个单位未配置机器人，提醒只写入日志（如 {'、'.join(silent[:3])}）"
            " (units.yaml channels)"
        )
    return out


def robot_channels(plan: Plan) -> list[str]:
    names: dict[str, None] = {}
    for unit in plan.units:
        for channel in unit.channels:
            names.setdefault(channel, None)
    return list(names)


def _items(
    occurrences: Iterable[Occurrence],
    closures: Mapping[str, Closure],
    files: Mapping[str, list[Evidence]],
    today: date,
    loop: Loop,
) -> list[Item]:
    zone = loop.zone()
    return [
        Item(
            o,
            closures.get(o.id),
            status(o, closures.get(o.id), today, zone),
            tuple(files.get(o.id, ())),
        )
        for o in occurrences
    ]


def default_span(loop: Loop, now: datetime) -> tuple[date, date]:
    today = loop.today(now)
    return _window_start(loop.plan, today), today + UNIT_AHEAD


def unit_sections(
    loop: Loop,
    unit: str,
    now: datetime,
    start: date,
    end: date,
    files: Mapping[str, list[Evidence]],
) -> list[Section]:
    """A unit's occurrences due in [start, end]: overdue, due soon, later, closed.
    Standing duties come as self-checks (one entry per period)."""
    today = loop.today(now)
    occurrences = lookup.between(loop.plan, start, end, {unit})
    closures = loop.store.closures([unit])
    entries: list[Entry] = []
    groups: dict[str, Group] = {}
    for item in _items(occurrences, closures, files, today, loop):
        group_id = review_group(item.occurrence)
        if group_id is None:
            entries.append(item)
        elif group_id in groups:
            groups[group_id].members.append(item)
        else:
            groups[group_id] = Group(group_id, [item])
            entries.append(groups[group_id])
    sections = {
        "overdue": Section("overdue", "逾期未完成"),
        "due_soon": Section("due_soon", "即将到期（两周内）"),
        "pending": Section("pending", "稍后到期"),
        "closed": Section("closed", "已办结"),
    }
    for entry in entries:
        open_status = entry.status in ("overdue", "due_soon", "pending")
        sections[entry.status if open_status else "closed"].entries.append(entry)
    for name, section in sections.items():
        section.entries.sort(key=lambda e: e.sort_due, reverse=name == "closed")
    return [s for s in sections.values() if s.entries]


def item(
    loop: Loop, occurrence: Occurrence, now: datetime, files: list[Evidence]
) -> tuple[Item, list[Change]]:
    closure = loop.store.get(occurrence.id)
    today, zone = loop.today(now), loop.zone()
    found = Item(occurrence, closure, status(occurrence, closure, today, zone), tuple(files))
    return found, loop.store.history(occurrence.id)


def group(
    loop: Loop, group_id: str, now: datetime, files: Mapping[str, list[Evidence]]
) -> Group | None:
    members: list[Listed] = loop.group(group_id, now)
    if not members:
        return None
    today, zone = loop.today(now), loop.zone()
    return Group(
        group_id,
        [
            Item(
                m.occurrence,
                m.closure,
                status(m.occurrence, m.closure, today, zone),
                tuple(files.get(m.occurrence.id, ())),
            )
            for m in members
        ],
    )


@dataclass(slots=True)
class DutyView:
    duty: CompiledDuty
    periods: list[tuple[str, str]]  # (period key, label)
    period: str | None
    items: list[Item]


def duty_view(
    loop: Loop, duty_id: str, period: str | None, now: datetime, units: list[str]
) -> DutyView | None:
    """One duty across the given units for one of its periods (default: the next due)."""
    plan = loop.plan
    compiled = plan.duty(duty_id)  # a retired plan's too: its history
    if compiled is None:
        return None
    today = loop.today(now)
    visible = [u for u in compiled.units if u in set(units)]
    only = replace(plan, duties=(compiled,))
    occurrences = lookup.between(only, plan.start, today + timedelta(days=400), set(visible))
    labels: dict[str, str] = {}
    dues: dict[str, date] = {}
    for o in occurrences:
        labels.setdefault(o.period, o.label)
        dues[o.period] = min(dues.get(o.period, o.due), o.due)
    keys = sorted(labels, key=lambda k: dues[k])
    if period not in labels:
        upcoming = [k for k in keys if dues[k] >= today]
        period = upcoming[0] if upcoming else (keys[-1] if keys else None)
    chosen = [o for o in occurrences if o.period == period]
    closures = loop.store.closures(visible) if visible else {}
    items = _items(chosen, closures, {}, today, loop)
    order = {u: i for i, u in enumerate(visible)}
    items.sort(key=lambda i: (i.closed, order[i.occurrence.unit]))
    return DutyView(compiled, [(k, labels[k]) for k in keys], period, items)


def day_bounds(
    loop: Loop, start: date | None, end: date | None
) -> tuple[datetime | None, datetime | None]:
    """Local days [start, end] as [since, before) instants."""
    zone = loop.zone()
    since = datetime.combine(start, time(0), zone) if start else None
    before = datetime.combine(end + timedelta(days=1), time(0), zone) if end else None
    return since, before
