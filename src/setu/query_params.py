"""Refuse query parameters an API endpoint does not take: a misspelt filter must not answer with everything.

FastAPI ignores a query parameter no endpoint declares, so ``/nodes?search=HAL`` (the parameter is ``q``)
answered every node of the network as if it were the search's result, and a total that reads like an
answer. Every endpoint under ``/api/v1`` takes this dependency and answers 422 instead, naming the
parameter and the ones the endpoint takes.

Examples
--------
>>> from fastapi import FastAPI
>>> app = FastAPI()
>>> @app.get("/nodes")
... def nodes(q: str = "", limit: int = 100) -> dict[str, str]:
...     return {"q": q}
>>> sorted(taken_by(app.routes[-1]))
['limit', 'q']
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from setu.errors import InputError, Problem

_TAKEN = "setu_query_parameters"
"""The attribute of a route holding the query parameters it takes, worked out at its first request."""


def taken_by(route: APIRoute) -> frozenset[str]:
    """The names of the query parameters ``route`` declares, its dependencies' included."""
    # Kept on the route itself: routes are not hashable, and an id could be reused by another app's route.
    names: frozenset[str] | None = getattr(route, _TAKEN, None)
    if names is None:
        names = frozenset(_query_names(route.dependant))
        setattr(route, _TAKEN, names)
    return names


def _query_names(dependant: Dependant) -> set[str]:
    names: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        for field in current.query_params:
            model = field.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):  # a model of query parameters
                names.update(info.alias or name for name, info in model.model_fields.items())
            else:
                names.add(field.alias)
        pending.extend(current.dependencies)
    return names


async def known_query_parameters(request: Request) -> None:
    """Raise :class:`InputError` (422) on a query parameter the matched endpoint does not take."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    taken = taken_by(route)
    unknown = sorted(set(request.query_params.keys()) - taken)
    if unknown:
        expected = f"one of {', '.join(sorted(taken))}" if taken else "none"
        path = request.url.path  # as sent: the route's own path may lack the prefix it is mounted under
        problems = [Problem(f"query.{n}", f"{path} takes no parameter {n!r}; expected {expected}") for n in unknown]
        raise InputError(problems)
