"""Stress-test pages: the scenario library, new runs, live progress, results, charts and explanations."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
