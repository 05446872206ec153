"""Registry pages: sites and capabilities, the partner-source search and the mitigation what-if."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
