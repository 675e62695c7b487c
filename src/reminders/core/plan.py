"""Compile a config into a plan: rules read, units fanned out, references checked.

Pure: the caller passes a `locate` function that turns a (file, field path) into
a file name and line, so problems name where the user wrote the bad value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from ..exceptions import ConfigError, Problem
from .grammar import Vocabulary, read_phrases
from .model import CalendarData, Duty, Event, Observance, Settings, Unit
from .rules import CampaignRule, DeadlineRule, ObservanceRule, Rule
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
class CompiledDuty:
    duty: Duty
    units: tuple[str, ...]
    rules: tuple[Rule, ...]


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
) -> Plan:
    """Check every cross-reference and read every phrase; raise ConfigError listing all problems."""
    out = _Collector(locate)
    names: dict[str, int] = {}
    for i, unit in enumerate(units):
        if unit.name in names:
            out.add("units", ("units", i, "name"), "duplicate unit name", unit.name)
        names[unit.name] = i
    groups: dict[str, list[str]] = {}
    for i, unit in enumerate(units):
        for j, group in enumerate(unit.groups):
            if group in names:
                out.add(
                    "units", ("units", i, "groups", j), "a group may not share a unit's name", group
                )
            groups.setdefault(group, []).append(unit.name)
        if unit.supervisor is not None and unit.supervisor not in names:
            out.add(
                "units",
                ("units", i, "supervisor"),
                f"unknown unit; known: {', '.join(names)}",
                unit.supervisor,
            )

    events: dict[str, Event] = {}
    for i, event in enumerate(data.events):
        if event.key in events:
            out.add("calendar", ("events", i, "key"), "duplicate event key", event.key)
        events[event.key] = event
    observances: dict[str, Observance] = {}
    for i, obs in enumerate(data.observances):
        if obs.key in observances:
            out.add("calendar", ("observances", i, "key"), "duplicate observance key", obs.key)
        observances[obs.key] = obs
    vocabulary = vocabulary_of(data)
    event_names = dict(vocabulary.events)

    compiled: list[CompiledDuty] = []
    seen: dict[str, int] = {}
    for i, duty in enumerate(duties):
        where: FieldPath = ("duties", i)
        if duty.id in seen:
            out.add(
                "duties",
                (*where, "id"),
                f"duplicate duty id (also duties[{seen[duty.id]}])",
                duty.id,
            )
            continue
        seen[duty.id] = i
        fanned: dict[str, None] = {}  # each unit once, in order (a list search costs n²)
        for j, name in enumerate(duty.units):
            members = groups.get(name, [name] if name in names else None)
            if members is None:
                known = ", ".join([*names, *groups])
                out.add(
                    "duties", (*where, "units", j), f"unknown unit or group; known: {known}", name
                )
                continue
            fanned.update(dict.fromkeys(members))
        rules = [_named_event(r, event_names) for r in _rules(duty, where, vocabulary, out)]
        for rule in rules:
            _check_rule(rule, duty, where, settings, events, observances, out)
        live = tuple(r for r in rules if not _expired(r, settings, events))
        compiled.append(CompiledDuty(duty, tuple(fanned), live))

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
    )


def _rules(duty: Duty, where: FieldPath, vocabulary: Vocabulary, out: _Collector) -> list[Rule]:
    if duty.schedule is not None:
        if not duty.schedule:
            out.add(
                "duties",
                (*where, "schedule"),
                "an empty schedule gives no due dates; remove it or add a rule",
                [],
            )
        return list(duty.schedule)
    reading = read_phrases(duty.time_limit, duty.text, vocabulary)
    for phrase in reading.not_understood:
        out.add(
            "duties",
            (*where, "time_limit"),
            f"duty {duty.id}: schedule phrase not understood: “{phrase}”; write it as a "
            "phrase from the README or give a structured 'schedule'",
            duty.time_limit,
        )
    for reason in reading.invalid:
        out.add("duties", (*where, "time_limit"), f"duty {duty.id}: {reason}", duty.time_limit)
    for conflict in reading.conflicts:
        out.add(
            "duties",
            (*where, "time_limit"),
            f"duty {duty.id}: {conflict}",
            duty.time_limit,
            warn=True,
        )
    if not reading.rules and not reading.not_understood and not reading.invalid:
        out.add(
            "duties",
            (*where, "time_limit"),
            f"duty {duty.id} has no time limit: no phrase in time_limit or text gives a due date",
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
) -> None:
    field_name = "schedule" if duty.schedule is not None else "time_limit"
    if isinstance(rule, CampaignRule):
        event = events.get(rule.campaign.until)
        if event is None:
            known = ", ".join(f"{e.key} ({e.name})" for e in events.values()) or "none defined"
            out.add(
                "duties",
                (*where, field_name),
                f"duty {duty.id}: campaign ends with an undefined event; "
                f"add it to calendar.yaml events (known: {known})",
                rule.campaign.until,
            )
        elif _expired(rule, settings, events):
            out.add(
                "duties",
                (*where, field_name),
                f"duty {duty.id}: campaign expired: {event.name} ended {event.end} "
                f"before the campaign "
                f"would start in {settings.plan_year}; no occurrences",
                rule.phrase,
                warn=True,
            )
    elif isinstance(rule, ObservanceRule) and rule.observance not in observances:
        out.add(
            "duties",
            (*where, field_name),
            f"duty {duty.id}: unknown observance; "
            f"known: {', '.join(observances) or 'none defined'}",
            rule.observance,
        )
    elif isinstance(rule, DeadlineRule):
        year, month, day = rule.parts
        if day is not None:
            try:
                date(year or settings.plan_year, month, day)
            except ValueError:
                out.add(
                    "duties",
                    (*where, field_name),
                    f"duty {duty.id}: the deadline does not exist in {year or settings.plan_year}",
                    rule.deadline,
                )


def _expired(rule: Rule, settings: Settings, events: dict[str, Event]) -> bool:
    if not isinstance(rule, CampaignRule):
        return False
    event = events.get(rule.campaign.until)
    if event is None:
        return False
    month, day = rule.campaign.month_day
    return event.end < date(settings.plan_year, month, day)
