"""The stress modules' examples run as written (numpydoc ``Examples`` sections are doctests)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ("graph", "solver", "parts", "engine", "local_ttr", "executors")


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name: str) -> None:
    module = importlib.import_module(f"setu.stress.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0, f"setu.stress.{name} has no example"
