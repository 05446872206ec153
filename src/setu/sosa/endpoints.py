"""HTTP endpoints of the sosa domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/requests", tags=["sosa"])
