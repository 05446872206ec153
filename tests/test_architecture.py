"""The layout's rules, checked on the source: layer contracts, file sizes, one read helper, one name per concept.

docs/architecture.md explains each rule; these tests make breaking one fail the suite.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "setu"
REPO = SRC.parents[1]
MAX_LINES = 500
LONG_FILES_ALLOWED = {"migrations"}
"""Folders whose files may be longer: migrations are generated history, not code to read."""
DATA_TABLES = {"demo/data.py"}
"""Data tables (the demo's illustrative industrial base) may be longer: they hold rows, not logic."""

DOMAINS = ("accounts", "audit", "networks", "runs", "registry", "jobs", "sosa", "framework", "dashboard", "federation")
"""Domain packages: one name across the API prefix, the page routes, the templates folder and the tests folder."""
DELIVERY = {"endpoints", "pages", "forms", "cli"}
"""Modules that deliver a domain to users; they may not build queries of marked tables or read unfiltered."""
SHARING = SRC / "sharing"
"""Where the read filter itself is defined (the one place allowed to build filtered queries by hand)."""


def _modules() -> Iterator[Path]:
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" not in path.relative_to(SRC).parts:
            yield path


def test_import_contracts_hold() -> None:
    """`lint-imports` (the contracts in pyproject.toml) passes: every layer rule holds."""
    from importlinter.cli import lint_imports

    assert lint_imports(config_filename=str(REPO / "pyproject.toml")) == 0


def test_no_python_file_is_over_500_lines() -> None:
    too_long = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if LONG_FILES_ALLOWED & set(path.relative_to(SRC).parts) or relative in DATA_TABLES:
            continue
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            too_long.append(f"{relative}: {lines} lines")
    assert not too_long, f"files over {MAX_LINES} lines (split them along their sections):\n" + "\n".join(too_long)


def _marked_model_names() -> set[str]:
    models = importlib.import_module("setu.models")
    from setu.models.base import Base, Marked, Owned

    # Owned models (jobs) are read only through the helper too: it adds their owner filter.
    guarded = (Marked, Owned)
    names = {mapper.class_.__name__ for mapper in Base.registry.mappers if issubclass(mapper.class_, guarded)}
    assert names <= set(dir(models)) | names
    return names


QUERY_CALLS = {"select", "exists", "join", "outerjoin", "select_from", "get", "query", "update", "delete"}
"""Calls that read (or write) a table named in their arguments or in the chain they start."""


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _aliases_of_marked(tree: ast.AST, marked: set[str]) -> set[str]:
    """Names bound to ``aliased(Model)`` of a marked model anywhere in the module."""
    aliases = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and _call_name(node.value) == "aliased"
            and node.value.args
            and _names_in(node.value.args[0]) & marked
        ):
            aliases |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return aliases


def query_violations(path: Path, marked: set[str], root: Path = SRC) -> list[str]:
    """Places in ``path`` that query a marked table other than through :mod:`setu.sharing.read`.

    A query counts when ``select`` or ``exists`` names a marked model (or an alias of one) among its
    arguments, or ``join``, ``outerjoin``, ``select_from``, ``session.get``, ``session.query``,
    ``update`` or ``delete`` takes one as its target. ``unfiltered`` counts in delivery code.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    suspects = marked | _aliases_of_marked(tree, marked)
    delivery = bool(DELIVERY & {path.stem, path.parent.name})
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        where = f"{path.relative_to(root)}:{node.lineno}"
        if name in {"unfiltered", "count_unfiltered", "unfiltered_update"}:
            if delivery:
                found.append(f"{where}: {name}() in delivery code")
            continue
        if name in {"select", "exists"}:
            arguments = node.args
        elif name in {"join", "outerjoin", "select_from", "get", "query", "update", "delete"}:
            arguments = node.args[:1]
        else:
            continue
        named = set().union(*(_names_in(arg) for arg in arguments)) & suspects if arguments else set()
        if named:
            found.append(f"{where}: {name}({', '.join(sorted(named))})")
    return sorted(found, key=lambda text: int(text.split(":")[1]))


def test_every_query_of_a_marked_table_starts_from_the_read_helper() -> None:
    """Outside sharing/, nobody selects, joins, counts or gets a marked model directly.

    Reads start from ``readable`` (or ``join_readable``, ``count_readable``, ``fetch_visible``); work that
    must see every row says so with ``unfiltered``, which endpoints, pages, forms and CLI may not call.
    """
    marked = _marked_model_names()
    violations = [v for path in _modules() if SHARING not in path.parents for v in query_violations(path, marked)]
    assert not violations, "queries of marked tables outside the read helper:\n" + "\n".join(violations)


def test_the_checker_catches_a_direct_query(tmp_path: Path) -> None:
    """The walk above sees the ways a query can be written, so a pass means something."""
    marked = _marked_model_names()
    source = tmp_path / "pages.py"
    source.write_text(
        "from sqlalchemy import select, func\n"
        "from sqlalchemy.orm import aliased\n"
        "node = aliased(NodeRecord)\n"
        "a = select(NodeRecord).where(NodeRecord.id == 1)\n"
        "b = select(func.count()).select_from(User)\n"
        "c = session.get(PriorityRequest, 3)\n"
        "d = readable(p, SupplyRecord).join(node, node.id == SupplyRecord.supplier_id)\n"
        "e = unfiltered(RunRecord)\n"
        "f = select(Party)\n"
        "g = update(RunRecord).values(status='failed')\n"
        "h = unfiltered_update(RunRecord)\n"
    )
    found = query_violations(source, marked, root=tmp_path)
    assert [line.split(": ", 1)[1] for line in found] == [
        "select(NodeRecord)",
        "select_from(User)",
        "get(PriorityRequest)",
        "join(node)",
        "unfiltered() in delivery code",
        "update(RunRecord)",
        "unfiltered_update() in delivery code",
    ]


def _walk(routes: list[Any]) -> Iterator[tuple[str, str]]:
    """(path, module of the handler) of every route, into included routers (their paths as each router has them)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _walk(included.routes)
        else:
            endpoint = getattr(route, "endpoint", None)
            yield getattr(route, "path", ""), getattr(endpoint, "__module__", "")


@pytest.fixture(scope="module")
def app_routes() -> list[tuple[str, str]]:
    from setu.api import create_app

    return list(_walk(create_app("sqlite://").router.routes))


@pytest.mark.parametrize("domain", DOMAINS)
def test_one_name_per_concept(domain: str, app_routes: list[tuple[str, str]]) -> None:
    """A domain's API prefix, page routes, templates folder and tests folder all carry the domain's name."""
    package = SRC / domain
    assert package.is_dir(), f"no package setu/{domain}"
    assert (REPO / "tests" / domain).is_dir(), f"no tests/{domain}/"
    endpoints = [path for path, module in app_routes if module.startswith(f"setu.{domain}.endpoints")]
    pages = [path for path, module in app_routes if module.startswith(f"setu.{domain}.pages")]
    assert endpoints or pages or domain == "dashboard", f"{domain} serves nothing"
    wrong = [path for path in endpoints if not path.startswith(f"/{domain}")]
    assert not wrong, f"API routes of {domain} outside /api/v1/{domain}: {wrong}"
    home = "/" if domain == "dashboard" else f"/{domain}"
    wrong = [path for path in pages if not (path == home or path.startswith(f"/{domain}"))]
    assert not wrong, f"page routes of {domain} outside {home}: {wrong}"
    if pages:
        assert (package / "templates").is_dir(), f"setu/{domain}/ has pages but no templates/ of its own"
    served = {module.split(".")[1] for _, module in app_routes if module.startswith("setu.") and module != "setu.api"}
    assert served <= set(DOMAINS), f"routes served from outside a domain: {served - set(DOMAINS)}"
