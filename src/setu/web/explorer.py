"""The network explorer: an interactive map of a network's visible nodes and edges."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
