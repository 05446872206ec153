"""Framework pages under ``/framework``: the overview, action items, and meetings with their decisions."""

from __future__ import annotations

from fastapi import APIRouter

from setu.framework.pages import actions, meetings, overview

router = APIRouter(include_in_schema=False)
for group in (overview, actions, meetings):
    router.include_router(group.router, include_in_schema=False)
