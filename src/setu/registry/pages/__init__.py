"""Registry pages under ``/registry``: sites and capabilities, the code list, partner sources and the what-if."""

from __future__ import annotations

from fastapi import APIRouter

from setu.registry.pages import sites, sources, what_if

router = APIRouter(include_in_schema=False)
router.include_router(sites.router)
router.include_router(sources.router)
router.include_router(what_if.router)
