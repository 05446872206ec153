"""Stored scenarios, stress runs on each user's view of a network, their results, exports and explanations."""

from setu.runs.explanations import ExplainedResult, explain_result
from setu.runs.manage import cancel_run, delete_run, rename_run
from setu.runs.results import EXPORT_FORMATS, RESULT_SORTS, export_results, list_results
from setu.runs.scenarios import build_scenario, create_scenario, get_scenario, list_scenarios, to_scenario
from setu.runs.service import RunStateError, execute_run, get_run, list_runs, start_run

__all__ = [
    "EXPORT_FORMATS",
    "RESULT_SORTS",
    "ExplainedResult",
    "RunStateError",
    "build_scenario",
    "cancel_run",
    "create_scenario",
    "delete_run",
    "execute_run",
    "explain_result",
    "export_results",
    "get_run",
    "get_scenario",
    "list_results",
    "list_runs",
    "list_scenarios",
    "rename_run",
    "start_run",
    "to_scenario",
]
