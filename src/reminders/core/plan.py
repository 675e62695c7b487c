"""Compile a config into a plan: rules read, units fanned out, references checked.

Pure: the caller passes a `locate` function that turns a (file, field path) into
a file name and line, so problems name where the user wrote the bad value.
"""

from __future__ import annotations

from calendar import isleap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from ..exceptions import ConfigError, Problem
from ..limits import MAX_YEAR
from .grammar import Vocabulary, read_phrases
from .model import CalendarData, DutiesFile, Duty, Event, Observance, Settings, Unit, plan_duty_id
from .recur import first_rrule_date
from .rules import (
    CampaignRule,
    DeadlineRule,
    ObservanceRule,
    RRuleRule,
    Rule,
    WindowRule,
    spec_parts,
)
from .workcalendar import WorkCalendar, YearOverride

FieldPath = tuple[str | int, ...]
Locate = Callable[[str, FieldPath], tuple[str, int | None]]


def _no_lines(file: str, path: FieldPath) -> tuple[str, int | None]:
    return file, None


def dotted(path: FieldPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass(frozen=True, slots=True)
class TablePlan:
    """One duty file: a plan (计划) with its own key, names and year, and whether it
    still runs (`active: false`: retired, 停用)."""

    key: str
    plan_year: int
    start: date
    file: str = "duties"  # the name `locate` takes for its file
    title: str | None = None
    short: str | None = None
    source_year: int | None = None
    active: bool = True
    prefixed: bool = False  # its duties' ids are '<key>:<id>' (a file in duties/)

    @classmethod
    def of(
        cls, settings: Settings, key: str, file: str, data: DutiesFile, *, prefixed: bool
    ) -> TablePlan:
        """The file's own plan year and start, else the settings' (a plan year of its own
        starts on its 1 January unless it says `plan_start`)."""
        year = data.plan_year or settings.plan_year
        start = data.plan_start or (
            settings.start if year == settings.plan_year else date(year, 1, 1)
        )
        return cls(
            key,
            year,
            start,
            file,
            data.title,
            data.short,
            data.source_year,
            data.active,
            prefixed,
        )

    @property
    def label(self) -> str:
        """How it is named beside its duties: its short name, else its key."""
        return self.short or self.key

    def duty_id(self, own: str) -> str:
        return plan_duty_id(self.key if self.prefixed else None, own)

    def named(self, text: str) -> str:
        """`text` after the plan's name: how a duty is shown when there are several plans."""
        return f"〔{self.label}〕{text}"


@dataclass(frozen=True, slots=True)
class CompiledDuty:
    duty: Duty
    units: tuple[str, ...]
    rules: tuple[Rule, ...]
    table: TablePlan | None = None  # None: the one plan of settings.yaml's year


@dataclass(frozen=True, slots=True)
class Plan:
    settings: Settings
    calendar: WorkCalendar
    data: CalendarData
    units: tuple[Unit, ...]
    duties: tuple[CompiledDuty, ...]
    warnings: tuple[Problem, ...] = ()
    events: dict[str, Event] = field(default_factory=dict)
    observances: dict[str, Observance] = field(default_factory=dict)
    # Occurrences due before this day are history (未跟踪): shown, never reminded nor overdue.
    # settings.track_from, else the edge's default (the day the ledger was created).
    track_from: date | None = None
    # The duty files (plans), in key order after duties.yaml; `duties` holds the active
    # ones' duties, `retired` those of plans with `active: false` (found by id, for history).
    tables: tuple[TablePlan, ...] = ()
    retired: tuple[CompiledDuty, ...] = ()

    @property
    def several(self) -> bool:
        """More than one plan: each duty is shown with its plan's name."""
        return len(self.tables) > 1

    @property
    def start(self) -> date:
        """The earliest plan start: nothing is due before it."""
        return min((t.start for t in self.tables), default=self.settings.start)

    @property
    def all_duties(self) -> tuple[CompiledDuty, ...]:
        return self.duties + self.retired

    def duty(self, duty_id: str) -> CompiledDuty | None:
        """The duty with this id, in an active or a retired plan."""
        return next((d for d in self.all_duties if d.duty.id == duty_id), None)

    def table(self, key: str) -> TablePlan | None:
        return next((t for t in self.tables if t.key == key), None)

    def unit_names(self) -> list[str]:
        return [unit.name for unit in self.units]

    def groups(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for unit in self.units:
            for group in unit.groups:
                found.setdefault(group, []).append(unit.name)
        return found


def expand_ranges(ranges: Sequence[tuple[date, date]]) -> frozenset[date]:
    days: set[date] = set()
    for start, end in ranges:
        day = start
        while day <= end:
            days.add(day)
            day = date.fromordinal(day.toordinal() + 1)
    return frozenset(days)


def work_calendar(data: CalendarData) -> WorkCalendar:
    """The official calendar corrected by the `years:` blocks of calendar.yaml."""
    overrides = {
        year: YearOverride(expand_ranges(days.holidays), expand_ranges(days.workdays))
        for year, days in data.years.items()
    }
    return WorkCalendar.build(overrides)


def vocabulary_of(data: CalendarData) -> Vocabulary:
    """The names of observances and events (with aliases) the grammar must recognise."""
    events = {e.name: e.key for e in data.events} | {
        alias: e.key for e in data.events for alias in e.aliases
    }
    return Vocabulary(observances={o.name: o.key for o in data.observances}, events=events)


class _Collector:
    def __init__(self, locate: Locate) -> None:
        self.locate = locate
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def add(
        self, file: str, path: FieldPath, message: str, value: object = None, *, warn: bool = False
    ) -> None:
        name, line = self.locate(file, path)
        problem = Problem(message, name, line, dotted(path), value, "warning" if warn else "error")
        (self.warnings if warn else self.errors).append(problem)


def compile_plan(
    settings: Settings,
    units: Sequence[Unit],
    data: CalendarData,
    duties: Sequence[Duty],
    locate: Locate = _no_lines,
    calendar: WorkCalendar | None = None,
    declared_groups: Sequence[str] = (),
    tables: Sequence[tuple[TablePlan, Sequence[Duty]]] | None = None,
) -> Plan:
    """Check every cross-reference and read every phrase; raise ConfigError listing all problems.

    `declared_groups` are groups declared in units.yaml before any unit joins them (各科室): a duty
    may name one; it has no occurrences until a unit joins it. `tables`: the plans (duty
    files) with their duties, instead of `duties` (the one plan, of the settings' year)."""
    out = _Collector(locate)
    names: dict[str, int] = {}
    for i, unit in enumerate(units):
        if unit.name in names:
            out.add("units", ("units", i, "name"), "单位名称重复 (duplicate unit)", unit.name)
        names[unit.name] = i
    groups: dict[str, list[str]] = {}
    for i, group in enumerate(declared_groups):
        if group in names:
            out.add("units", ("groups", i), "分组不能与单位同名 (group named like a unit)", group)
        groups.setdefault(group, [])
    for i, unit in enumerate(units):
        for j, group in enumerate(unit.groups):
            if group in names:
                out.add("units", ("units", i, "groups", j), "分组名不能与单位名相同", group)
            groups.setdefault(group, []).append(unit.name)
        if unit.supervisor is not None and unit.supervisor not in names:
            out.add(
                "units",
                ("units", i, "supervisor"),
                f"没有这个单位 (unit)；已有：{'、'.join(names)}",
                unit.supervisor,
            )

    events: dict[str, Event] = {}
    for i, event in enumerate(data.events):
        if event.key in events:
            out.add("calendar", ("events", i, "key"), "事件的 key 重复", event.key)
        events[event.key] = event
    observances: dict[str, Observance] = {}
    for i, obs in enumerate(data.observances):
        if obs.key in observances:
            out.add("calendar", ("observances", i, "key"), "主题活动的 key 重复", obs.key)
        observances[obs.key] = obs
    vocabulary = vocabulary_of(data)
    event_names = dict(vocabulary.events)

    if tables is None:
        tables = [(TablePlan("duties", settings.plan_year, settings.start), duties)]
    several = len(tables) > 1
    compiled: list[CompiledDuty] = []
    retired: list[CompiledDuty] = []
    keys: dict[str, TablePlan] = {}
    for table, table_duties in tables:
        if table.key in keys:
            out.add(
                table.file,
                ("key",),
                f"计划键重复 (duplicate plan key)：{out.locate(keys[table.key].file, ())[0]} "
                "也是这个键；每个计划一个文件，键各不相同",
                table.key,
            )
            continue
        keys[table.key] = table
        own = settings
        if (table.plan_year, table.start) != (settings.plan_year, settings.start):
            own = settings.model_copy(
                update={"plan_year": table.plan_year, "plan_start": table.start}
            )
        seen: dict[str, int] = {}
        for i, duty in enumerate(table_duties):
            where: FieldPath = ("duties", i)
            if duty.id in seen:
                out.add(
                    table.file,
                    (*where, "id"),
                    f"任务编号重复 (duplicate duty id)，与 duties[{seen[duty.id]}] 相同",
                    duty.id,
                )
                continue
            seen[duty.id] = i
            fanned = _fan_out(duty, where, table.file, names, groups, declared_groups, out)
            rules = [
                _named_event(r, event_names)
                for r in _rules(duty, where, vocabulary, out, table.file)
            ]
            for rule in rules:
                _check_rule(rule, duty, where, own, events, observances, out, table.file)
            live = tuple(r for r in rules if not _expired(r, own, events))
            shown = _shown(duty, table, several)
            (compiled if table.active else retired).append(
                CompiledDuty(shown, tuple(fanned), live, table)
            )

    if out.errors:
        raise ConfigError(out.errors + out.warnings)
    return Plan(
        settings=settings,
        calendar=calendar or work_calendar(data),
        data=data,
        units=tuple(units),
        duties=tuple(sorted(compiled, key=lambda c: c.duty.sort_key)),
        warnings=tuple(out.warnings),
        events=events,
        observances=observances,
        track_from=settings.track_from,
        tables=tuple(keys.values()),
        retired=tuple(sorted(retired, key=lambda c: c.duty.sort_key)),
    )


def _shown(duty: Duty, table: TablePlan, several: bool) -> Duty:
    """The duty as this service knows it: a plan in duties/ prefixes its ids with its key;
    with several plans its title starts with the plan's name (〔2025〕…), so every
    list, feed and message names the plan."""
    update: dict[str, str] = {}
    if table.prefixed:
        update["id"] = table.duty_id(duty.id)
    if several:
        update["title"] = table.named(duty.title)
    return duty.model_copy(update=update) if update else duty


def _fan_out(
    duty: Duty,
    where: FieldPath,
    file: str,
    names: dict[str, int],
    groups: dict[str, list[str]],
    declared_groups: Sequence[str],
    out: _Collector,
) -> list[str]:
    """The units a duty's `units` name, groups opened into their members."""
    fanned: dict[str, None] = {}  # each unit once, in order (a list search costs n²)
    for j, name in enumerate(duty.units):
        members = groups.get(name, [name] if name in names else None)
        if members is None:
            known = "、".join([*names, *groups])
            out.add(
                file,
                (*where, "units", j),
                f"没有这个单位或分组 (unit or group)；已有：{known}",
                name,
            )
            continue
        if not members and name in declared_groups:
            out.add(
                file,
                (*where, "units", j),
                "该组尚无单位 (group has no units yet)：给属于它的单位加上 `groups: ["
                + name
                + "]`；"
                "在此之前它没有到期事项",
                name,
                warn=True,
            )
        fanned.update(dict.fromkeys(members))
    return list(fanned)


def _rules(
    duty: Duty, where: FieldPath, vocabulary: Vocabulary, out: _Collector, file: str
) -> list[Rule]:
    if duty.schedule is not None:
        if not duty.schedule:
            out.add(
                file,
                (*where, "schedule"),
                "schedule 为空，没有到期日：删去它，或加一条规则",
                [],
            )
        return list(duty.schedule)
    reading = read_phrases(duty.time_limit, duty.text, vocabulary)
    for phrase in reading.not_understood:
        out.add(
            file,
            (*where, "time_limit"),
            f"任务 {duty.id}：读不懂的时限用语 (phrase not understood)：“{phrase}”；"
            "改写成使用指南/README 中列出的用语，或给出结构化的 schedule",
            duty.time_limit,
        )
    for reason in reading.invalid:
        out.add(file, (*where, "time_limit"), f"任务 {duty.id}：{reason}", duty.time_limit)
    for conflict in reading.conflicts:
        out.add(
            file,
            (*where, "time_limit"),
            f"任务 {duty.id}：{conflict}",
            duty.time_limit,
            warn=True,
        )
    if not reading.rules and not reading.not_understood and not reading.invalid:
        if duty.time_limit is None:  # the table gives none (a target): kept, no occurrences
            out.add(
                file,
                (*where, "id"),
                f"任务 {duty.id} 无时限 (no time limit)：没有到期事项；要提醒，请加上 time_limit "
                "或 schedule",
                duty.id,
                warn=True,
            )
        else:
            out.add(
                file,
                (*where, "time_limit"),
                f"任务 {duty.id} 没有时限：time_limit 和正文中都没有能给出到期日的用语"
                "（任务确无时限时，删去 time_limit 这一行）",
                duty.time_limit,
            )
    return reading.rules


def _named_event(rule: Rule, event_names: dict[str, str]) -> Rule:
    if isinstance(rule, CampaignRule) and rule.campaign.until in event_names:
        spec = rule.campaign.model_copy(update={"until": event_names[rule.campaign.until]})
        return rule.model_copy(update={"campaign": spec})
    return rule


def _check_rule(
    rule: Rule,
    duty: Duty,
    where: FieldPath,
    settings: Settings,
    events: dict[str, Event],
    observances: dict[str, Observance],
    out: _Collector,
    file: str,
) -> None:
    field_name = "schedule" if duty.schedule is not None else "time_limit"
    if isinstance(rule, CampaignRule):
        event = events.get(rule.campaign.until)
        if rule.campaign.month_day == (2, 29) and not isleap(settings.plan_year):
            out.add(
                file,
                (*where, field_name),
                f"任务 {duty.id}：{settings.plan_year} 年没有 2 月 29 日 (campaign start)",
                rule.campaign.start,
            )
        elif event is None:
            known = "、".join(f"{e.key}（{e.name}）" for e in events.values()) or "尚未定义"
            out.add(
                file,
                (*where, field_name),
                f"任务 {duty.id}：专项行动以一个未定义的事件结束；"
                f"在 calendar.yaml 的 events 中加上它（已有：{known}）",
                rule.campaign.until,
            )
        elif _expired(rule, settings, events):
            out.add(
                file,
                (*where, field_name),
                f"任务 {duty.id}：专项行动已过期 (expired)：{event.name}已于 {event.end} 结束，"
                f"早于 {settings.plan_year} 年的开始日，不产生事项",
                rule.phrase,
                warn=True,
            )
    elif isinstance(rule, ObservanceRule) and rule.observance not in observances:
        out.add(
            file,
            (*where, field_name),
            f"任务 {duty.id}：没有这个主题活动 (observance)；"
            f"已有：{'、'.join(observances) or '尚未定义'}",
            rule.observance,
        )
    elif isinstance(rule, RRuleRule):
        last = date(MAX_YEAR, 12, 31)
        if first_rrule_date(rule.rrule, settings.start, last) is None:
            out.add(
                file,
                (*where, field_name),
                f"任务 {duty.id}：这条 rrule 从计划开始日 {settings.start} 到 {last} "
                "不会落在任何一天 (never matches)",
                rule.rrule,
            )
    elif isinstance(rule, DeadlineRule):
        year, month, day = rule.parts
        year = year or settings.plan_year + (rule.year_offset or 0)
        if day is not None:
            try:
                date(year, month, day)
            except ValueError:
                out.add(
                    file,
                    (*where, field_name),
                    f"任务 {duty.id}：{year or settings.plan_year} 年没有这个日期",
                    rule.deadline,
                )
    elif isinstance(rule, WindowRule):
        ends = []
        for spec in (rule.window.start, rule.window.end):
            y, m, d = spec_parts(spec)
            try:
                ends.append(date(y or settings.plan_year, m, d or 1))
            except ValueError:
                out.add(
                    file,
                    (*where, field_name),
                    f"任务 {duty.id}：{y or settings.plan_year} 年没有这个日期 (no such date)",
                    spec,
                )
                return
        explicit = all(spec_parts(s)[0] is not None for s in (rule.window.start, rule.window.end))
        if explicit and ends[1] < ends[0]:
            out.add(
                file,
                (*where, field_name),
                f"任务 {duty.id}：时段结束早于开始 (the window ends before it starts)",
                f"{rule.window.start}..{rule.window.end}",
            )


def _expired(rule: Rule, settings: Settings, events: dict[str, Event]) -> bool:
    if not isinstance(rule, CampaignRule):
        return False
    event = events.get(rule.campaign.until)
    if event is None:
        return False
    month, day = rule.campaign.month_day
    if (month, day) == (2, 29) and not isleap(settings.plan_year):
        return False  # reported as an error
    return event.end < date(settings.plan_year, month, day)
