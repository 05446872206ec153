"""Text cells that a spreadsheet opens as text: formula injection defused on the way out, undone on the way in.

A spreadsheet program runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return before one) as a formula, so a node named ``=HYPERLINK(...)`` in an exported CSV would act on
whoever opens it. OWASP's advice is to prefix such a cell with a single quote, which spreadsheets show
as text; Setu's own readers take the quote off again, so a file Setu wrote reads back unchanged.

Examples
--------
>>> spreadsheet_text("=1+1")
"'=1+1"
>>> spreadsheet_text("HAL Nashik")
'HAL Nashik'
>>> from_spreadsheet_text(spreadsheet_text("@SUM(A1)"))
'@SUM(A1)'
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""


def spreadsheet_text(value: str) -> str:
    """``value`` as a text cell a spreadsheet will not run: a quote before a formula's first character."""
    if value.startswith((*FORMULA_STARTS, "'")):  # a leading quote is doubled so reading undoes exactly this
        return "'" + value
    return value


def from_spreadsheet_text(value: str) -> str:
    """The text :func:`spreadsheet_text` protected, its quote removed (other text unchanged)."""
    if value.startswith("'") and (value[1:].startswith(FORMULA_STARTS) or value[1:].startswith("'")):
        return value[1:]
    return value
