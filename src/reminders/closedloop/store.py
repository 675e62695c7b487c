"""Occurrence states in the ledger's database, with their history.

One row per touched occurrence in `occurrence_states` (keyed by the stable
occurrence id, so re-imports and config edits never lose it) and one row per
change in `occurrence_history`. An action is one transaction: the state row is
created if absent, locked (`FOR UPDATE` on PostgreSQL; SQLite serialises
writers with `BEGIN IMMEDIATE`), compared, updated and the change appended, so
concurrent actions on one occurrence queue and each sees the other's result.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Select, func, insert, select, update

from ..ledger import Ledger
from ..ledger.schema import occurrence_history, occurrence_states
from ..ledger.store import reading
from ..ledger.upsert import insert_if_absent
from ..limits import LEDGER_TEXT_MAX_CHARS
from .state import TARGET, Action, Change, Closure, Outcome, State

_TEXT_LIMIT = LEDGER_TEXT_MAX_CHARS


def _clip(text: str | None, limit: int = _TEXT_LIMIT) -> str | None:
    """Trimmed and clipped, without NUL characters (PostgreSQL refuses them in text)."""
    if text is None:
        return None
    text = text.replace("\x00", "").strip()
    return text[:limit] if text else None


def _closure(record: Any) -> Closure:
    m = record._mapping
    return Closure(
        m["occurrence_id"],
        m["unit"],
        cast(State, m["state"]),
        m["actor"],
        m["note"],
        m["evidence"],
        m["changed_at"],
        m["revision"],
    )


def _change(record: Any) -> Change:
    m = record._mapping
    return Change(
        m["id"],
        m["occurrence_id"],
        m["unit"],
        cast(Action, m["action"]),
        cast(State, m["state_before"]),
        cast(State, m["state_after"]),
        m["actor"],
        m["note"],
        m["evidence"],
        m["via"],
        m["at"],
    )


class LoopStore:
    """Read and change occurrence states; share the ledger's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def of(cls, ledger: Ledger) -> LoopStore:
        return cls(ledger.engine)

    # -- changing ------------------------------------------------------------
    def apply(
        self,
        occurrence_id: str,
        unit: str,
        action: Action,
        now: datetime,
        *,
        by: str | None = None,
        note: str | None = None,
        evidence: str | None = None,
        via: str = "cli",
        only_open: bool = False,
    ) -> Outcome:
        """Move one occurrence to the action's state; a repeat changes nothing.

        `only_open`: leave a closed (done or waived) occurrence as it is, decided
        under the row lock (a self-check's "all done" must not overwrite a waiver).
        """
        target = TARGET[action]
        by, note, evidence = _clip(by, 200), _clip(note), _clip(evidence)
        with self.engine.begin() as conn:
            self._ensure(conn, occurrence_id, unit, now)
            current = _closure(
                conn.execute(
                    select(occurrence_states)
                    .where(occurrence_states.c.occurrence_id == occurrence_id)
                    .with_for_update()
                ).one()
            )
            if current.state == target or (only_open and current.closed):
                return Outcome(current, changed=False)
            conn.execute(
                update(occurrence_states)
                .where(occurrence_states.c.occurrence_id == occurrence_id)
                .values(
                    state=target,
                    unit=unit,
                    actor=by,
                    note=note,
                    evidence=evidence if target == "done" else None,
                    changed_at=now,
                    revision=occurrence_states.c.revision + 1,
                )
            )
            conn.execute(
                insert(occurrence_history).values(
                    occurrence_id=occurrence_id,
                    unit=unit,
                    action=action,
                    state_before=current.state,
                    state_after=target,
                    actor=by,
                    note=note,
                    evidence=evidence,
                    via=via,
                    at=now,
                )
            )
        closure = Closure(
            occurrence_id,
            unit,
            target,
            by,
            note,
            evidence if target == "done" else None,
            now,
            current.revision + 1,
        )
        return Outcome(closure, changed=True)

    def _ensure(self, conn: Connection, occurrence_id: str, unit: str, now: datetime) -> None:
        values = {
            "occurrence_id": occurrence_id,
            "unit": unit,
            "state": "open",
            "changed_at": now,
            "revision": 0,
        }
        insert_if_absent(conn, occurrence_states, values)

    # -- reading -------------------------------------------------------------
    def get(self, occurrence_id: str) -> Closure | None:
        with reading(self.engine) as conn:
            record = conn.execute(
                select(occurrence_states).where(occurrence_states.c.occurrence_id == occurrence_id)
            ).first()
        return _closure(record) if record is not None else None

    def closures(self, units: Iterable[str] | None = None) -> dict[str, Closure]:
        """Every touched occurrence (open ones that were undone included), by id."""
        query = select(occurrence_states)
        if units is not None:
            query = query.where(occurrence_states.c.unit.in_(list(units)))
        return self._by_id(query)

    def closed(self) -> dict[str, Closure]:
        """Done and waived occurrences, by id."""
        return self._by_id(select(occurrence_states).where(occurrence_states.c.state != "open"))

    def _by_id(self, query: Select[Any]) -> dict[str, Closure]:
        with reading(self.engine) as conn:
            return {c.occurrence_id: c for c in map(_closure, conn.execute(query))}

    def closed_ids(self) -> set[str]:
        query = select(occurrence_states.c.occurrence_id).where(occurrence_states.c.state != "open")
        with reading(self.engine) as conn:
            return set(conn.execute(query).scalars())

    def history(self, occurrence_id: str | None = None, limit: int | None = None) -> list[Change]:
        query = select(occurrence_history).order_by(occurrence_history.c.id)
        if occurrence_id is not None:
            query = query.where(occurrence_history.c.occurrence_id == occurrence_id)
        if limit is not None:
            query = query.limit(limit)
        with reading(self.engine) as conn:
            return [_change(r) for r in conn.execute(query)]

    def search(
        self,
        *,
        units: Iterable[str] | None = None,
        duty: str | None = None,
        person: str | None = None,
        since: datetime | None = None,
        before: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Change]:
        """History rows, newest first: of these units, of one duty (its id), whose actor
        contains `person`, at or after `since` and before `before`."""
        h = occurrence_history.c
        query = select(occurrence_history).order_by(h.id.desc()).limit(limit).offset(offset)
        if units is not None:
            query = query.where(h.unit.in_(list(units)))
        if duty is not None:
            query = query.where(h.occurrence_id.startswith(f"{duty}/", autoescape=True))
        if person:
            query = query.where(h.actor.contains(person, autoescape=True))
        if since is not None:
            query = query.where(h.at >= since)
        if before is not None:
            query = query.where(h.at < before)
        with reading(self.engine) as conn:
            return [_change(r) for r in conn.execute(query)]

    def revision(self) -> int:
        """Grows with every change (in any process): compare to see whether to re-plan."""
        with reading(self.engine) as conn:
            return int(conn.execute(select(func.max(occurrence_history.c.id))).scalar() or 0)
