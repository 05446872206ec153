"""The import page: upload a network in any supported format and see its problems row by row."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
