"""Framework test fixtures: cheap password hashing for every test here, as the API and web tests have."""

from __future__ import annotations

from api.conftest import fast_hasher

__all__ = ["fast_hasher"]
