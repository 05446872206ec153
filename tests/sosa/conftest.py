"""SoSA fixtures: cheap argon2 parameters for every test that creates users (shared with the API tests)."""

from __future__ import annotations

from api.conftest import fast_hasher

__all__ = ["fast_hasher"]
