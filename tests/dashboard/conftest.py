"""Dashboard fixtures: those of the network pages (the app on the two-party world network)."""

from __future__ import annotations

from networks.conftest import fast_hasher, web, world

__all__ = ["fast_hasher", "web", "world"]
