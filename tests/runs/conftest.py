"""Run tests' fixtures: the API's (a client per test user, fast password hashing) and the web's (the world network).

Modules that need a world of their own (the service tests' stored network) define ``world`` themselves.
"""

from api.conftest import api, fast_hasher
from web.conftest import web, world

__all__ = ["api", "fast_hasher", "web", "world"]
