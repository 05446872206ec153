"""Country inputs: codes and names in any case, aliases people use, and no guess from a short unknown code."""

from __future__ import annotations

import pytest

from setu.network.countries import country_code, country_label, country_suggestions


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("cn", "CN"),
        ("CHN", "CN"),
        ("China", "CN"),
        ("Viet Nam", "VN"),
        ("Vietnam", "VN"),
        ("uk", "GB"),
        ("Russia", "RU"),
    ],
)
def test_codes_and_names_find_the_country(text: str, code: str) -> None:
    assert country_code(text) == code


@pytest.mark.parametrize("text", ["XX", "ZZ", "QQQ", "", "Narnia"])
def test_an_unknown_code_is_not_guessed(text: str) -> None:
    # "XX" once matched Malta through the subdivision code MT-XX: a scenario on "XX" disrupted Malta's nodes.
    assert country_code(text) is None
    assert country_label(text) == text


def test_a_misspelt_name_gets_suggestions() -> None:
    assert "CN (China)" in country_suggestions("Chnia")
