"""The audit viewer (auditor role): entries, checkpoints and the verify action."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
