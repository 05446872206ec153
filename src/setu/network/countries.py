"""Countries as users type them: names or codes, any case, matched to ISO 3166 codes (pycountry).

Networks hold a node's country as its file gives it, usually the ISO alpha-2 code. A user who types
"China", "chn" or "CN" means the same country; scenario builders and filters compare codes, and an
input that names no country gets suggestions instead of an empty result.

Examples
--------
>>> country_code("China"), country_code("chn"), country_code("Russia"), country_code("Atlantis")
('CN', 'CN', 'RU', None)
>>> country_label("IN")
'IN (India)'
"""

from __future__ import annotations

import difflib
from functools import lru_cache

import pycountry

SUGGESTIONS = 3
ALIASES = {"UK": "GB"}
"""Codes people use that ISO 3166 does not (the United Kingdom's is GB)."""


@lru_cache(maxsize=4096)
def country_code(text: str) -> str | None:
    """The ISO 3166-1 alpha-2 code of a country named or coded by ``text`` (any case), or None."""
    value = text.strip()
    if not value:
        return None
    if value.upper() in ALIASES:
        return ALIASES[value.upper()]
    try:
        return str(pycountry.countries.lookup(value).alpha_2)
    except LookupError:
        pass
    if len(value) <= 3:
        # Not a code: fuzzy search would match it inside subdivision codes ("XX" finds Malta's MT-XX).
        return None
    try:
        found = pycountry.countries.search_fuzzy(value)
    except LookupError:
        return None
    return str(found[0].alpha_2) if len(found) == 1 else None


def country_name(code: str) -> str:
    """The common name of the country with alpha-2 ``code`` ("" when it is no ISO code)."""
    country = pycountry.countries.get(alpha_2=code.strip().upper()) if len(code.strip()) == 2 else None
    if country is None:
        return ""
    return str(getattr(country, "common_name", None) or country.name)


def country_label(text: str) -> str:
    """A country as pages show it: ``CN (China)``; ``text`` as it is when it names no country."""
    code = country_code(text)
    name = country_name(code) if code else ""
    return f"{code} ({name})" if code and name else text


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    """Every country's common and official names, lower case, to its alpha-2 code."""
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for name in (getattr(country, "common_name", None), country.name, getattr(country, "official_name", None)):
            if name:
                names[str(name).casefold()] = str(country.alpha_2)
    return names


def country_suggestions(text: str) -> list[str]:
    """Up to :data:`SUGGESTIONS` countries ``text`` may have meant (a misspelt name), as :func:`country_label` shows
    them.

    Examples
    --------
    >>> country_suggestions("Chnia")
    ['CN (China)']
    """
    names = _names()
    close = difflib.get_close_matches(text.strip().casefold(), names, n=SUGGESTIONS * 3, cutoff=0.7)
    codes = list(dict.fromkeys(names[name] for name in close))[:SUGGESTIONS]
    return [f"{code} ({country_name(code)})" for code in codes]


def same_country(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are the same country (by code when both name one, else as text, any case)."""
    code_a, code_b = country_code(a), country_code(b)
    if code_a and code_b:
        return code_a == code_b
    return a.strip().casefold() == b.strip().casefold()
