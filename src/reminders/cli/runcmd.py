"""`reminders run` (the service) and `reminders reload` (SIGHUP to it)."""

from __future__ import annotations

import argparse
import os
import signal

from ..config import find_config_dir
from ..exceptions import RemindersError
from ..logs import configure_logging
from ..statedir import find_state_dir
from .common import at_option, listen_address, state_dir_option
from .errors import EXIT_OK


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    state = state_dir_option("台账、订阅令牌和订阅历史")
    run = commands.add_parser(
        "run",
        parents=[state],
        help="运行服务 (run)：推送提醒、提供日历订阅与办结确认页面（前台运行；systemd 用）",
        description="在一个前台进程中排定、推送提醒并提供日历订阅和办结确认页面。"
        "SIGTERM/SIGINT (Ctrl-C) 正常停止；SIGHUP、`reminders reload` 或修改配置文件会"
        "重新读取配置（配置有错时记录问题，继续按上一份有效配置运行）。",
    )
    run.add_argument(
        "--listen",
        metavar="HOST:PORT",
        type=listen_address,
        help="监听地址（默认：settings.yaml 的 feeds.listen，即 127.0.0.1:8080；端口 0 "
        "表示任选一个空闲端口）",
    )
    run.add_argument(
        "--sweep-seconds",
        type=float,
        default=300.0,
        metavar="N",
        help="安全巡检间隔秒数（默认 300）",
    )
    run.add_argument(
        "--watch-seconds",
        type=float,
        default=5.0,
        metavar="N",
        help="每 N 秒检查一次配置文件是否修改，修改即重新读取（默认 5；0 表示关闭，只在 "
        "SIGHUP 或 `reminders reload` 时重读）",
    )
    at_option(run, "测试与演练用：服务的时钟从这一时刻开始走（不用于正式运行）", "--now")
    run.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="日志级别 (log level)（默认 INFO：每次推送一行）",
    )
    run.set_defaults(run=cmd_run)

    reload = commands.add_parser(
        "reload",
        parents=[state],
        help="让运行中的服务重新读取配置 (reload)",
        description="向持有该状态目录的运行中服务发送 SIGHUP：重新读取配置、重新排定提醒、"
        "刷新订阅（与 systemctl reload reminders 相同）。",
    )
    reload.set_defaults(run=cmd_reload)


def cmd_run(args: argparse.Namespace) -> int:
    from ..daemon import stopsignal

    stopsignal.catch()  # a SIGTERM during the imports and start-up below: a clean exit 0
    from ..daemon.service import RunOptions, run_service

    configure_logging(args.log_level)
    options = RunOptions(
        config_dir=find_config_dir(args.config),
        state_dir=find_state_dir(args.state_dir),
        listen=args.listen,
        plan_year=args.plan_year,
        start=args.at,
        sweep_seconds=args.sweep_seconds,
        watch_seconds=args.watch_seconds,
    )
    return run_service(options)


def cmd_reload(args: argparse.Namespace) -> int:
    from ..statelock import running_pid

    state_dir = find_state_dir(args.state_dir)
    pid = running_pid(state_dir)
    if pid is None:
        raise RemindersError(
            f"没有运行中的服务 (no running service) 使用状态目录 {state_dir}；"
            "用 systemd 时：systemctl reload reminders"
        )
    os.kill(pid, signal.SIGHUP)
    print(f"已向进程 {pid} 发送 SIGHUP：服务正在重新读取配置")
    return EXIT_OK
