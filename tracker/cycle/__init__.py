"""The poll cycle, in stages: plan.py -> fetch.py -> parse.py -> decide (tracker/domain/decide.py, pure) ->
record (tracker/store/cycles.py, one transaction) -> queue alerts. engine.py runs them; every entry point
(`tracker poll`, `tracker run`, the demo) goes through `run_cycle`."""

from tracker.cycle.engine import Hooks, run_cycle
from tracker.cycle.plan import Request
from tracker.cycle.report import PollReport, SourceOutcome

__all__ = ["Hooks", "PollReport", "Request", "SourceOutcome", "run_cycle"]
