"""Framework pages: pillars, bodies, meetings and decisions, action items, the overdue list and the ICS download."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
