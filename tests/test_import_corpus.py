"""Twelve real task tables (tests/data/tables, see SOURCES.md there), each as flattened
text and as .docx, imported and compared with its .expect.json.

A task is found when the import has a task, in order, whose text starts with the
expected 12 characters (whitespace aside: Word text breaks lines inside cells);
its units are right when units and partners are the expected lists, in order; its
time limit is right when the reading has the expected kind and, where the
expectation gives them, its deadline and period. Missing tasks count as wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reminders.cli.main import main

from .conftest import ROOT

CORPUS = ROOT / "tests" / "data" / "tables"
DOCUMENTS = sorted(p.name.removesuffix(".expect.json") for p in CORPUS.glob("*.expect.json"))
FORMATS = ("txt", "docx")
FOUND_TARGET, UNITS_TARGET, TIME_TARGET = 0.95, 0.90, 0.90


@dataclass
class Result:
    document: str
    fmt: str
    expected: int
    found: int
    units: int
    time: int
    extra: int
    misses: list[str]

    def line(self) -> str:
        return (
            f"{self.document:<44} {self.fmt:<5} {self.expected:>3} tasks: "
            f"found {self.found:>3}, units right {self.units:>3}, "
            f"time limit right {self.time:>3}, extra {self.extra}"
        )


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _time_right(reading: dict[str, Any], expected: dict[str, Any]) -> bool:
    if reading["kind"] != expected["kind"]:
        return False
    if expected["deadline"] is not None and reading["deadline"] != expected["deadline"]:
        return False
    return expected["period"] is None or reading["period"] == expected["period"]


def compare(document: str, fmt: str, duties: list[dict[str, Any]]) -> Result:
    expected = json.loads((CORPUS / f"{document}.expect.json").read_text(encoding="utf-8"))
    result = Result(document, fmt, len(expected), 0, 0, 0, 0, [])
    position = 0
    matched = 0
    for task in expected:
        start = _flat(task["task_text_start"])
        hit = next(
            (i for i in range(position, len(duties)) if _flat(duties[i]["text"]).startswith(start)),
            None,
        )
        if hit is None:
            result.misses.append(f"{task['n']}: not found ({task['task_text_start']})")
            continue
        matched += 1
        duty = duties[hit]
        position = hit + 1
        result.found += 1
        if duty["units"] == task["units"] and duty["partners"] == task["partners"]:
            result.units += 1
        else:
            result.misses.append(
                f"{task['n']} units: {duty['units']}/{duty['partners']}"
                f" != {task['units']}/{task['partners']}"
            )
        if _time_right(duty["reading"], task["expected"]):
            result.time += 1
        else:
            result.misses.append(f"{task['n']} time: {duty['reading']} != {task['expected']}")
    result.extra = len(duties) - matched
    return result


def import_json(source: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    main(["--config", str(config_dir), "import", str(source), "--dry-run", "--json"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return json.loads(captured.out)


RESULTS: dict[tuple[str, str], Result] = {}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("document", DOCUMENTS)
def test_document_imports_as_expected(
    document: str, fmt: str, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = import_json(CORPUS / f"{document}.{fmt}", config_dir, capsys)
    assert report["tasks"] == len(report["duties"]) > 0
    assert report["written"] == []
    result = compare(document, fmt, report["duties"])
    RESULTS[document, fmt] = result
    print(result.line())
    for miss in result.misses:
        print("   ", miss)
    # the .txt and the .docx of a document are the same table: read alike
    assert result.found >= result.expected - 1, result.misses


def test_corpus_totals(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for document in DOCUMENTS:
        for fmt in FORMATS:
            if (document, fmt) not in RESULTS:  # run alone: import what the others would
                report = import_json(CORPUS / f"{document}.{fmt}", config_dir, capsys)
                RESULTS[document, fmt] = compare(document, fmt, report["duties"])
    results = [RESULTS[d, f] for d in DOCUMENTS for f in FORMATS]
    expected = sum(r.expected for r in results)
    found = sum(r.found for r in results)
    units = sum(r.units for r in results)
    time = sum(r.time for r in results)
    with capsys.disabled():
        print()
        for r in results:
            print(r.line())
        print(
            f"{'corpus':<50} {expected:>3} tasks: found {found / expected:.1%}, "
            f"units right {units / expected:.1%}, time limit right {time / expected:.1%}"
        )
    assert expected == 2 * 123
    assert found / expected >= FOUND_TARGET
    assert units / expected >= UNITS_TARGET
    assert time / expected >= TIME_TARGET
