"""Time `reminders import` on a generated 2,000-task table in every format (target < 5 s).

Run: .venv/bin/python bench/import_table.py [--rows 2000]

Each case runs the whole command (read, parse, read the phrases, merge,
write), in a private copy of the shipped config. Also timed: re-importing into
the 2,000-duty file it just wrote (the merge path), a 10 MB text file (refused
at once) and a 10 MB .docx (a small table plus a large embedded file).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from reminders.cli.main import main
from reminders.importer.rows import Row
from reminders.importer.writers import to_csv, to_text, write_docx, write_xlsx

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 5.0
DIGITS = "零一二三四五六七八九"
LIMITS = [
    "9月底前完成 长期坚持",
    "11 月底前完成",
    "长期坚持",
    "每月至少组织 1 次",
    "每季度至少开展1次",
    "5月底前完成",
    "立即整改 长期坚持",
    "及时修订 长期坚持",
    "每半年至少2次",
    "年底前完成",
]
UNITS = ["教育局", "各校", "教育局、各校"]


def cn(number: int) -> str:
    tens, units = divmod(number, 10)
    if tens == 0:
        return DIGITS[units]
    return ("" if tens == 1 else DIGITS[tens]) + "十" + (DIGITS[units] if units else "")


def generated_rows(count: int, per_measure: int = 25, per_section: int = 8) -> list[Row]:
    rng = random.Random(2022)
    rows: list[Row] = []
    for index in range(count):
        measure_no = index // per_measure + 1
        section_no = (measure_no - 1) // per_section + 1
        rows.append(
            Row(
                section=f"{cn(section_no)}、第{cn(section_no)}部分安全生产责任",
                measure=f"（{cn(measure_no)}）第{cn(measure_no)}项措施",
                measure_no=measure_no,
                task_no=index % per_measure + 1,
                text=f"第{index + 1}项任务：加强安全隐患排查治理，落实主体责任，"
                + "完善制度措施，" * rng.randint(1, 6)
                + "确保取得实效。",
                units=rng.choice(UNITS),
                time_limit=LIMITS[index % len(LIMITS)],
            )
        )
    return rows


def timed(argv: list[str]) -> tuple[float, int]:
    sink = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        code = main(argv)
    return time.perf_counter() - start, code


def fresh_config(base: Path, name: str) -> Path:
    target = base / name
    shutil.copytree(ROOT / "config", target)
    (target / "duties.yaml").unlink()
    return target


def main_bench() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
    rows = generated_rows(args.rows)
    title = f"生成的任务分工表（{args.rows} 项）"
    writers: dict[str, Callable[[Path], None]] = {
        "txt": lambda p: p.write_text(to_text(title, rows), encoding="utf-8"),
        "csv": lambda p: p.write_text(to_csv(title, rows), encoding="utf-8"),
        "xlsx": lambda p: write_xlsx(p, title, rows),
        "docx": lambda p: write_docx(p, title, rows),
    }
    slow = False
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp)
        print(f"{'case':<34} {'size':>9} {'seconds':>8}  exit")
        for suffix, write in writers.items():
            source = base / f"table.{suffix}"
            write(source)
            config = fresh_config(base, f"config-{suffix}")
            seconds, code = timed(["--config", str(config), "import", str(source)])
            size = source.stat().st_size
            print(f"{args.rows} rows .{suffix:<22} {size / 1024:>7.0f}KB {seconds:>8.2f}  {code}")
            slow |= seconds > TARGET_SECONDS
            if suffix == "txt":
                seconds, code = timed(["--config", str(config), "import", str(source)])
                print(f"{'  re-import (merge, no change)':<34} {'':>9} {seconds:>8.2f}  {code}")
                slow |= seconds > TARGET_SECONDS
                changed = [r for r in rows if r.task_no != 1]  # 80 tasks gone
                for r in changed[::10]:
                    r.time_limit = "年底前完成"  # and every tenth time limit changed
                source.write_text(to_text(title, changed), encoding="utf-8")
                seconds, code = timed(["--config", str(config), "import", str(source)])
                print(f"{'  re-import (merge, 10% changed)':<34} {'':>9} {seconds:>8.2f}  {code}")
                slow |= seconds > TARGET_SECONDS
                rows = generated_rows(args.rows)
        huge = base / "huge.txt"
        huge.write_bytes(("\t1.检查\n" * 1_000_000).encode())
        config = fresh_config(base, "config-huge")
        seconds, code = timed(["--config", str(config), "import", str(huge)])
        size = huge.stat().st_size
        print(f"{'10 MB text (refused)':<34} {size / 2**20:>7.1f}MB {seconds:>8.2f}  {code}")
        big = base / "big.docx"
        write_docx(big, title, rows[:60])
        with zipfile.ZipFile(big, "a") as package:
            package.writestr("word/media/scan.bin", random.Random(1).randbytes(10 * 2**20))
        seconds, code = timed(["--config", str(config), "import", str(big), "--dry-run"])
        size = big.stat().st_size
        print(
            f"{'10 MB .docx (60 rows + blob)':<34} {size / 2**20:>7.1f}MB {seconds:>8.2f}  {code}"
        )
        slow |= seconds > TARGET_SECONDS
    print(f"target: every import under {TARGET_SECONDS:.0f} s: {'MISSED' if slow else 'met'}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main_bench())
