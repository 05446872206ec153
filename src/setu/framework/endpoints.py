"""HTTP endpoints of the framework domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/framework", tags=["framework"])
