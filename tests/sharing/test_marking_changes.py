"""Who may lower a marking; every write changing a stored marking asks :func:`check_marking_change`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from principals import (
    GE_PROPRIETARY,
    HAL_PROPRIETARY,
    IN_ADMIN,
    IN_ANALYST,
    IN_DESK,
    IN_HAL_INDUSTRY,
    IN_ONLY,
    SHARED,
    US_ADMIN,
    US_GE_INDUSTRY,
)
from setu.sharing.changes import lowers, may_lower, release_action
from setu.sharing.markings import MarkingSpec

SRC = Path(__file__).resolve().parents[2] / "src" / "setu"
# Functions that set a marking_id on a record that is not stored yet, or re-derive a derived record's
# marking from what it used (a run's, when its worker starts): no stored marking is lowered by a writer.
NEW_OR_DERIVED = {
    ("framework/common.py", "write_record"): "a new record, before session.add",
    ("demo/framework.py", "_add"): "a new record, before session.add",
    ("runs/service.py", "_compute"): "a run's marking re-derived from the view and scenarios it used",
    ("federation/feed.py", "_emit"): "the feed's note of the marking a record was last sent under",
    ("federation/receive.py", "_remember"): "the provenance row's copy of the marking the partner's signed feed set",
}


def test_lowering_is_judged_part_by_part() -> None:
    assert lowers(IN_ONLY, SHARED)  # national-only dropped
    assert lowers(HAL_PROPRIETARY, SHARED)  # an owner dropped
    assert lowers(MarkingSpec(2, "IN", frozenset({"IN"})), MarkingSpec(1, "IN", frozenset({"IN"})))
    assert lowers(MarkingSpec(1, "IN", frozenset({"IN"})), SHARED)  # a party added
    assert not lowers(SHARED, IN_ONLY) and not lowers(SHARED, HAL_PROPRIETARY) and not lowers(SHARED, SHARED)
    # Raising one part while lowering another is a lowering.
    assert lowers(IN_ONLY, MarkingSpec(3, "IN", frozenset({"IN", "US"})))


@pytest.mark.parametrize(
    ("who", "old", "new", "allowed"),
    [
        (IN_ADMIN, IN_ONLY, SHARED, True),  # India's admin releases India's record
        (IN_ADMIN, HAL_PROPRIETARY, SHARED, True),  # ... and lifts an Indian firm's proprietary mark
        (IN_ADMIN, GE_PROPRIETARY, MarkingSpec(1, "US", frozenset({"IN", "US"})), False),  # not a US firm's
        (US_ADMIN, IN_ONLY, SHARED, False),  # not the origin party's
        (IN_HAL_INDUSTRY, HAL_PROPRIETARY, SHARED, False),  # industry raises, never lowers
        (US_GE_INDUSTRY, GE_PROPRIETARY, MarkingSpec(1, "US", frozenset({"IN", "US"})), False),
        (IN_ANALYST, IN_ONLY, SHARED, False),  # a government user without the admin role
        (IN_DESK, IN_ONLY, SHARED, False),
    ],
)
def test_only_the_markings_authority_may_lower_it(who, old, new, allowed) -> None:  # type: ignore[no-untyped-def]
    assert lowers(old, new)
    assert may_lower(who, old, new) is allowed


def test_a_release_is_audited_next_to_its_update() -> None:
    assert release_action("registry.site.update") == "registry.site.release"
    assert release_action("sosa.edit") == "sosa.release"


def _marking_writes(tree: ast.AST) -> list[tuple[str, bool]]:
    """(function, whether it calls check_marking_change) for each function assigning ``x.marking_id``/``x.marking``."""
    found: list[tuple[str, bool]] = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        targets = [
            target
            for node in ast.walk(function)
            if isinstance(node, ast.Assign)
            for assigned in node.targets
            for target in (assigned.elts if isinstance(assigned, ast.Tuple) else [assigned])
        ]
        if any(isinstance(t, ast.Attribute) and t.attr in ("marking_id", "marking") for t in targets):
            calls = {
                node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                for node in ast.walk(function)
                if isinstance(node, ast.Call)
            }
            found.append((function.name, "check_marking_change" in calls))
    return found


def test_every_write_changing_a_stored_marking_asks_who_may_lower_it() -> None:
    unchecked = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith(("migrations/", "models/")):
            continue
        for function, checked in _marking_writes(ast.parse(path.read_text())):
            if not checked and (relative, function) not in NEW_OR_DERIVED:
                unchecked.append(f"{relative}:{function}")
    assert not unchecked, f"marking changes that bypass setu.sharing.changes.check_marking_change: {unchecked}"
