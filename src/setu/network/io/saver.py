"""Write a network in any writable format, guessed from the path if need be, never over a file unasked.

Examples
--------
>>> from pathlib import Path
>>> writable_format(Path("base.json")), writable_format(Path("base.xlsx")), writable_format(Path("base"))
('accelerator', 'setu', 'setu')
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from setu.errors import InputError
from setu.network.model import Network

WRITE_FORMATS: tuple[str, ...] = ("auto", "setu", "accelerator")
"""Formats :func:`write_network` writes (the Willems chain layout is read only)."""


def writable_format(path: Path, format: str = "auto") -> str:
    """The format to write ``path`` in: ``format``, or for ``auto`` the accelerator's for .json, else Setu's.

    Raises
    ------
    setu.errors.InputError
        If ``format`` is not one of :data:`WRITE_FORMATS`.
    """
    if format not in WRITE_FORMATS:
        raise InputError(f"cannot write format {format!r}; expected one of {', '.join(WRITE_FORMATS)}", str(path))
    if format != "auto":
        return format
    return "accelerator" if path.suffix.lower() == ".json" else "setu"


def check_free(path: Path, format: str = "auto", *, overwrite: bool = False) -> str:
    """Check that ``path`` can take a network in ``format`` without replacing one unasked; return the format.

    A file is taken, and so is a folder holding any of the Setu tables (``nodes.csv``, ...), unless
    ``overwrite``. An accelerator file or a workbook cannot be a folder, and Setu's format is a
    ``.xlsx`` workbook or a folder, never a ``.csv``.

    Raises
    ------
    setu.errors.InputError
        Naming the path and what is in the way.
    """
    chosen = writable_format(path, format)
    if chosen == "setu" and path.suffix.lower() in (".csv", ".xls", ".xlsm"):
        raise InputError(f"cannot write {path.suffix.lower()}: give a .xlsx file or a folder", str(path))
    if path.is_dir() and (chosen == "accelerator" or path.suffix.lower() == ".xlsx"):
        raise InputError("is a folder; give a file name", str(path))
    if overwrite:
        return chosen
    if path.is_file():
        raise InputError("already exists; pass --overwrite to replace it", str(path))
    if path.is_dir():
        from setu.network.io.setu_format import TABLES  # openpyxl: loaded only when a folder is there

        taken = sorted(p.name for p in path.iterdir() if p.suffix.lower() == ".csv" and p.stem.lower() in TABLES)
        if taken:
            raise InputError(f"already holds {', '.join(taken)}; pass --overwrite to replace them", str(path))
    return chosen


def write_network(network: Network, path: str | Path, format: str = "auto", *, overwrite: bool = False) -> str:
    """Write ``network`` to ``path`` and return the format written (see :func:`check_free`).

    Setu's format keeps everything (a ``.xlsx`` path gives a workbook, any other a folder of CSV
    tables). The accelerator's JSON keeps products, suppliers, BOM, capacities and inventories only;
    it has no place for shared site capacities, which are left out rather than refused.

    Raises
    ------
    setu.errors.InputError
        If the path is taken (and ``overwrite`` is false), cannot be written, or the format is unknown.
    """
    from setu.network.io.accelerator import write_accelerator
    from setu.network.io.setu_format import write_setu

    path = Path(path)
    chosen = check_free(path, format, overwrite=overwrite)
    if chosen == "setu":
        write_setu(network, path)
        return chosen
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_accelerator(replace(network, site_capacities=[]), path)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", str(path)) from None
    return chosen
