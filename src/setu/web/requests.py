"""SoSA request pages: the request board, a request with its history and actions, the working-day calendar."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
