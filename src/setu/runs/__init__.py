"""Stored scenarios, stress runs on each user's view of a network, and their results."""

from setu.runs.service import (
    EXPORT_FORMATS,
    RESULT_SORTS,
    RunStateError,
    create_scenario,
    execute_run,
    export_results,
    get_run,
    get_scenario,
    list_results,
    list_runs,
    list_scenarios,
    start_run,
    to_scenario,
)

__all__ = [
    "EXPORT_FORMATS",
    "RESULT_SORTS",
    "RunStateError",
    "create_scenario",
    "execute_run",
    "export_results",
    "get_run",
    "get_scenario",
    "list_results",
    "list_runs",
    "list_scenarios",
    "start_run",
    "to_scenario",
]
