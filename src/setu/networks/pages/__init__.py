"""Network pages under ``/networks``: the list, node table and node, maps, supply tree, stand-ins, import."""

from __future__ import annotations

from fastapi import APIRouter

from setu.networks.pages import geo as geo_pages
from setu.networks.pages import imports as import_pages
from setu.networks.pages import list as list_pages
from setu.networks.pages import map as map_pages
from setu.networks.pages import standins as standin_pages
from setu.networks.pages import tree as tree_pages

router = APIRouter(include_in_schema=False)
# The import page first: /networks/import would otherwise be taken for a network id.
router.include_router(import_pages.router)
router.include_router(list_pages.router)
router.include_router(map_pages.router)
router.include_router(tree_pages.router)
router.include_router(geo_pages.router)
router.include_router(standin_pages.router)

__all__ = ["router"]
