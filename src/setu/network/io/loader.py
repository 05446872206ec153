"""Open a network file in any supported format, guessing the format from the path when asked to."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from setu.errors import InputError
from setu.network.model import Network

Format = Literal["auto", "setu", "accelerator", "willems"]
FORMATS: tuple[str, ...] = ("auto", "setu", "accelerator", "willems")


def detect_format(path: Path) -> Format:
    """Guess the format: a folder or .xlsx is Setu's, .json the accelerator's, a chain .csv Willems'."""
    if path.is_dir():
        return "setu"
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "setu"
    if suffix == ".json":
        return "accelerator"
    if suffix == ".csv":
        return "willems"
    raise InputError(
        "cannot tell the format from the name (expected a folder, .xlsx, .json or .csv); pass --format",
        str(path),
    )


def read_network(
    path: str | Path, format: Format = "auto", *, max_rows: int | None = None, **options: float
) -> Network:
    """Read a network file.

    Parameters
    ----------
    path
        A Setu workbook (.xlsx) or folder of CSV tables, an accelerator .json, or a Willems chain .csv.
    format
        One of ``auto``, ``setu``, ``accelerator``, ``willems``.
    max_rows
        The most rows a table may hold (a Willems file's lines, an accelerator file's entries per key),
        counted as the file is read; more raise :class:`~setu.errors.TooLarge`.
    **options
        Passed to the Willems reader (capacity slack, inventory cover, ...).

    Raises
    ------
    setu.errors.InputError
        If the file cannot be read or holds a malformed network.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such file or folder", str(path))
    if format not in FORMATS:
        raise InputError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}", str(path))
    chosen = detect_format(path) if format == "auto" else format
    if chosen == "accelerator":
        from setu.network.io.accelerator import read_accelerator

        return read_accelerator(path, max_rows=max_rows)
    if chosen == "willems":
        from setu.network.io.willems import WillemsOptions, read_willems

        try:
            willems_options = WillemsOptions(**options)
        except TypeError as exc:
            raise InputError(f"bad Willems option: {exc}", str(path)) from None
        return read_willems(path, willems_options, max_rows=max_rows)
    from setu.network.io.setu_format import read_setu

    network: Network = read_setu(path, max_rows=max_rows)
    return network
