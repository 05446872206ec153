"""The run pages under /runs: the scenario library, runs with their progress and results, comparisons, explanations."""

from fastapi import APIRouter

from setu.runs.pages import compare, explain, library, runs

router = APIRouter(include_in_schema=False)
# The literal /runs/scenarios and /runs/compare routes go first, before /runs/{run_id} could take them.
router.include_router(library.router)
router.include_router(compare.router)
router.include_router(runs.router)
router.include_router(explain.router)

__all__ = ["router"]
