"""The capability code list: well formed, covering the demo's materials, documented as it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from setu.demo.data import MATERIALS
from setu.registry.codes import BY_CODE, CODES, FAMILIES, codes_for, get_code, table_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "registry.md"


def test_codes_are_unique_family_item_and_documented() -> None:
    assert len(BY_CODE) == len(CODES)
    for c in CODES:
        family, _, item = c.code.partition("-")
        assert family in FAMILIES and item and c.code == c.code.upper()
        assert c.name and c.description and (c.materials or c.material_classes)
    assert table_markdown() in DOCS.read_text(encoding="utf-8")


def test_every_demo_material_maps_to_a_code_and_none_twice_by_name() -> None:
    for key, material in MATERIALS.items():
        assert codes_for(key, material.material_class), key
    named = [m for c in CODES for m in c.materials]
    assert len(named) == len(set(named)) and set(named) <= set(MATERIALS)


def test_codes_for_prefers_the_material_over_its_class() -> None:
    assert [c.code for c in codes_for("ndfeb_magnet", "magnet")] == ["MAT-REMAG"]
    assert [c.code for c in codes_for("gan_epi", "gallium")] == ["SEM-GAN"]
    # Unknown material: its class decides; the material itself may be a class name.
    assert [c.code for c in codes_for("new_disc", "superalloy")] == []
    assert [c.code for c in codes_for("Magnet")] == ["MAT-REMAG"]
    assert [c.code for c in codes_for("widget", "energetics")] == ["ENR-PROP"]
    assert codes_for("nothing at all") == []


def test_get_code_is_case_insensitive_and_names_the_families() -> None:
    assert get_code(" met-forge ").name == "Forgings"
    with pytest.raises(KeyError, match="families MIN, MAT"):
        get_code("XX-1")
