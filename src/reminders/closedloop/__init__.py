"""The closed loop (闭环): occurrence states, action links, escalation inputs, reports."""

from .loop import Listed, Loop, UnknownOccurrence
from .overdue import Overdue, overdue
from .report import Report, UnitCounts, build_report, render_report
from .signing import Claim, TokenError, sign, verify
from .state import ACTIONS, Action, Change, Closure, Outcome, State, feed_marks
from .store import LoopStore

__all__ = [
    "ACTIONS",
    "Action",
    "Change",
    "Claim",
    "Closure",
    "Listed",
    "Loop",
    "LoopStore",
    "Outcome",
    "Overdue",
    "Report",
    "State",
    "TokenError",
    "UnitCounts",
    "UnknownOccurrence",
    "build_report",
    "feed_marks",
    "overdue",
    "render_report",
    "sign",
    "verify",
]
