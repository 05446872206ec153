"""Writing a network by format name: the format from the path, nothing replaced unasked, what each layout keeps."""

from __future__ import annotations

import dataclasses
import doctest
from pathlib import Path

import pytest

from setu.errors import InputError
from setu.network.industrial_base import industrial_base
from setu.network.io import saver
from setu.network.io.accelerator import read_accelerator
from setu.network.io.loader import read_network
from setu.network.io.saver import check_free, writable_format, write_network


def test_the_format_follows_the_path() -> None:
    assert [writable_format(Path(p)) for p in ("a.json", "a.JSON", "a.xlsx", "folder")] == [
        "accelerator",
        "accelerator",
        "setu",
        "setu",
    ]
    assert writable_format(Path("a.json"), "setu") == "setu"
    with pytest.raises(InputError, match="cannot write format 'willems'; expected one of auto, setu, accelerator"):
        writable_format(Path("a.csv"), "willems")


@pytest.mark.parametrize(
    ("make", "target", "format", "message"),
    [
        (lambda p: (p / "a.json").write_text("{}"), "a.json", "auto", "already exists; pass --overwrite"),
        (lambda p: (p / "a.xlsx").write_text(""), "a.xlsx", "auto", "already exists; pass --overwrite"),
        (lambda p: (p / "f").mkdir() or (p / "f" / "nodes.csv").write_text(""), "f", "auto", "already holds nodes.csv"),
        (lambda p: (p / "f.json").mkdir(), "f.json", "auto", "is a folder; give a file name"),
        (lambda p: None, "a.csv", "setu", "cannot write .csv: give a .xlsx file or a folder"),
    ],
)
def test_a_taken_or_wrong_path_is_refused_before_writing(
    tmp_path: Path, make: object, target: str, format: str, message: str
) -> None:
    make(tmp_path)  # type: ignore[operator]
    with pytest.raises(InputError, match=message) as raised:
        check_free(tmp_path / target, format)
    assert str(tmp_path / target) in str(raised.value)


def test_overwrite_replaces_and_a_folder_without_tables_is_free(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("mine")
    assert check_free(tmp_path / "notes") == "setu"
    (tmp_path / "a.json").write_text("{}")
    assert check_free(tmp_path / "a.json", overwrite=True) == "accelerator"


def test_each_layout_keeps_what_it_can(tmp_path: Path) -> None:
    network = industrial_base(60, seed=4)
    assert network.site_capacities
    assert write_network(network, tmp_path / "sub" / "base.json") == "accelerator"
    back = read_accelerator(tmp_path / "sub" / "base.json")
    assert [n.id for n in back.nodes] == [n.id for n in network.nodes]
    assert (back.supplies, back.bom, back.site_capacities) == (network.supplies, network.bom, [])
    assert write_network(network, tmp_path / "base.xlsx") == "setu"
    again = read_network(tmp_path / "base.xlsx")
    assert again == dataclasses.replace(network, name=again.name, source=again.source)
    with pytest.raises(InputError, match="already exists"):
        write_network(network, tmp_path / "base.xlsx")


def test_the_docstring_examples_run() -> None:
    assert doctest.testmod(saver, raise_on_error=False).failed == 0
