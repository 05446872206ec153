"""Uploaded network files: saved within a size limit, zips of CSV tables unpacked safely, read with problems
named by the uploaded file's name rather than the server's temporary folder."""

from __future__ import annotations

import logging
import os
import re
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Literal

from sqlalchemy import Table

from setu.errors import InputError, Problem, TooLarge
from setu.models.networks import BomRecord, NetworkRecord, NodeRecord, SiteCapacityRecord
from setu.network.io.loader import read_network
from setu.network.io.setu_format import read_setu
from setu.network.model import Network
from setu.settings import DEFAULT_MAX_NODES, DEFAULT_MAX_SUPPLIES, DEFAULT_MAX_UPLOAD_ROWS, ApiSettings

log = logging.getLogger("setu.api.uploads")

UploadFormat = Literal["auto", "setu", "accelerator", "willems"]
CHUNK = 1024 * 1024
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._ ()+-]+")
_DRIVE = re.compile(r"^[A-Za-z]:")
_SUFFIX_FORMATS: dict[str, Literal["setu", "accelerator", "willems"]] = {
    ".xlsx": "setu",
    ".xlsm": "setu",
    ".zip": "setu",
    ".json": "accelerator",
    ".csv": "willems",
}


class UploadTooLarge(TooLarge):
    """An upload is over the configured size limit (answered 413)."""


def safe_filename(name: str | None) -> str:
    """The last part of an uploaded file's name, reduced to safe characters (``upload`` if nothing is left).

    Parameters
    ----------
    name
        The name the client gave, possibly with folders (``C:\\data\\net.xlsx``) or odd characters.

    Returns
    -------
    str
        A plain file name of at most 120 characters.
    """
    base = re.split(r"[\\/]", name or "")[-1]
    base = _UNSAFE_CHARS.sub("_", base).strip(" .")
    if len(base) > 120:
        stem, dot, suffix = base.rpartition(".")
        base = f"{stem[: 119 - len(suffix)]}.{suffix}" if dot and len(suffix) <= 10 else base[:120]
    return base or "upload"


def save_upload(stream: BinaryIO, target: Path, limit: int) -> int:
    """Copy an uploaded file to ``target``, refusing it once it passes ``limit`` bytes.

    Parameters
    ----------
    stream
        The uploaded file.
    target
        Where to write it.
    limit
        The most bytes accepted.

    Returns
    -------
    int
        The size written.

    Raises
    ------
    UploadTooLarge
        Past the limit (the partial copy is removed).
    setu.errors.InputError
        If the file is empty.
    """
    written = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        while chunk := stream.read(CHUNK):
            written += len(chunk)
            if written > limit:
                out.close()
                target.unlink(missing_ok=True)
                raise UploadTooLarge(f"the file is larger than the limit of {limit} bytes")
            out.write(chunk)
    if written == 0:
        raise InputError("the file is empty", target.name)
    return written


def read_limited(stream: BinaryIO, limit: int, filename: str) -> bytes:
    """An uploaded file's bytes, refused once they pass ``limit`` (what a queued import keeps).

    Raises
    ------
    UploadTooLarge
        Past the limit.
    setu.errors.InputError
        If the file is empty.
    """
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise UploadTooLarge(f"the file is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    if size == 0:
        raise InputError("the file is empty", filename)
    return b"".join(chunks)


def _ignored(member: str) -> bool:
    """Files archivers add that are no table (macOS resource forks and folder settings)."""
    parts = PurePosixPath(member).parts
    return bool(parts) and (parts[0] == "__MACOSX" or parts[-1] == ".DS_Store" or parts[-1].startswith("._"))


def _member_problems(name: str, info: zipfile.ZipInfo) -> list[Problem]:
    member = info.filename
    parts = PurePosixPath(member.replace("\\", "/")).parts
    where = f"{name}: {member}"
    problems = []
    if member.startswith(("/", "\\")) or _DRIVE.match(member):
        problems.append(Problem(where, "absolute path in the archive; the archive is refused"))
    if ".." in parts:
        problems.append(Problem(where, "path with '..' in the archive; the archive is refused"))
    if stat.S_ISLNK(info.external_attr >> 16):
        problems.append(Problem(where, "symbolic link in the archive; the archive is refused"))
    if "\x00" in member:
        problems.append(Problem(where, "NUL character in a name; the archive is refused"))
    return problems


def unpack_zip(archive_path: Path, root: Path, *, max_files: int, max_bytes: int) -> Path:
    """Unpack a .zip of CSV tables under ``root`` and return the folder holding the tables.

    Every member is checked before anything is written: no absolute path, no ``..``, no link, at most
    ``max_files`` files and ``max_bytes`` bytes unpacked (counted as they are written, not trusted from
    the archive's directory).

    Parameters
    ----------
    archive_path
        The uploaded archive.
    root
        An empty folder to unpack into.
    max_files, max_bytes
        The limits.

    Returns
    -------
    Path
        ``root`` if the tables are at the top of the archive, else its one folder holding them.

    Raises
    ------
    setu.errors.InputError
        Naming each refused member, or the limit passed.
    """
    name = archive_path.name
    try:
        archive = zipfile.ZipFile(archive_path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(f"not a readable .zip archive ({exc})", name) from None
    with archive:
        members = archive.infolist()
        problems = [p for info in members for p in _member_problems(name, info)]
        files = [i for i in members if not i.is_dir() and not _ignored(i.filename.replace("\\", "/"))]
        if len(files) > max_files:
            problems.append(Problem(name, f"the archive holds {len(files)} files; at most {max_files} are accepted"))
        declared = sum(i.file_size for i in files)
        if declared > max_bytes:
            problems.append(Problem(name, f"the archive unpacks to {declared} bytes; at most {max_bytes}"))
        if not files:
            problems.append(Problem(name, "the archive holds no file"))
        if problems:
            raise InputError(problems)
        written = 0
        base = root.resolve()
        try:
            for info in files:
                target = base.joinpath(*PurePosixPath(info.filename.replace("\\", "/")).parts)
                if not target.resolve().is_relative_to(base):
                    raise InputError(
                        "path outside the archive's folder; the archive is refused", f"{name}: {info.filename}"
                    )
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as source, target.open("wb") as out:
                    while chunk := source.read(CHUNK):
                        written += len(chunk)
                        if written > max_bytes:
                            raise InputError(f"the archive unpacks to more than {max_bytes} bytes", name)
                        out.write(chunk)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError, zlib.error) as exc:
            raise InputError(f"cannot unpack the archive ({exc})", name) from None
    entries = [p for p in root.iterdir() if not _ignored(p.name)]
    if not any(p.suffix.lower() == ".csv" and p.is_file() for p in entries):
        folders = [p for p in entries if p.is_dir()]
        if len(folders) == 1:
            return folders[0]
    return root


def choose_format(filename: str, format: UploadFormat) -> Literal["setu", "accelerator", "willems"]:
    """The format to read an upload in: the one asked for, or the one its name suggests.

    Parameters
    ----------
    filename
        The uploaded file's (safe) name.
    format
        ``auto``, ``setu``, ``accelerator`` or ``willems``.

    Returns
    -------
    str
        The format.

    Raises
    ------
    setu.errors.InputError
        If ``auto`` cannot tell from the name, or a .zip is sent in a format other than Setu's.
    """
    suffix = Path(filename).suffix.lower()
    if suffix == ".zip" and format not in ("auto", "setu"):
        raise InputError(
            f"a .zip holds a Setu network as CSV tables; format must be auto or setu, not {format}", filename
        )
    if format != "auto":
        return format
    if suffix not in _SUFFIX_FORMATS:
        raise InputError(
            "cannot tell the format from the file name (expected .xlsx, a .zip of CSV tables, .json or .csv); "
            "choose a format",
            filename,
        )
    return _SUFFIX_FORMATS[suffix]


def _relocate(text: str, roots: list[str]) -> str:
    for root in roots:
        text = text.replace(root + os.sep, "").replace(root, "")
    return text


def read_upload(
    path: Path,
    format: Literal["setu", "accelerator", "willems"],
    display_roots: list[Path],
    filename: str,
    *,
    max_rows: int | None = None,
) -> Network:
    """Read a saved upload; problems name places in the uploaded file, not in the server's folders.

    Parameters
    ----------
    path
        The saved file, or the folder of unpacked CSV tables.
    format
        The format to read it in.
    display_roots
        Server folders to cut from every problem's place and message.
    filename
        The uploaded file's name, for failures no reader anticipated.
    max_rows
        The most rows a table may have.

    Returns
    -------
    Network
        The network read.

    Raises
    ------
    setu.errors.InputError
        Listing every problem, ``where`` as the reader gives it with the server folders cut.
    """
    roots = sorted({str(r) for r in display_roots} | {str(r.resolve()) for r in display_roots}, key=len, reverse=True)
    try:
        if format == "setu":
            return read_setu(path, max_rows=max_rows)
        return read_network(path, format, max_rows=max_rows)
    except TooLarge as exc:
        raise UploadTooLarge(_relocate(str(exc), roots)) from None
    except InputError as exc:
        raise InputError(
            [Problem(_relocate(p.where, roots), _relocate(p.message, roots)) for p in exc.problems]
        ) from None
    except Exception as exc:  # a reader failing on malformed bytes is still bad input
        log.info("reading an upload as %s failed", format, exc_info=True)
        message = _relocate(f"cannot read the file as {format}: {type(exc).__name__}: {exc}", roots)
        raise InputError(message, filename) from None


def _limits(table: Table) -> dict[str, int]:
    return {c.name: length for c in table.columns if (length := getattr(c.type, "length", None))}


def _text_problem(value: str, limit: int | None) -> str | None:
    if limit is not None and len(value) > limit:
        return f"longer than {limit} characters ({len(value)})"
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text"
    return None


def storable_problems(network: Network, *, name: str, source: str) -> list[Problem]:
    """Texts of ``network`` that the database could not store: too long for their column, NUL, bad Unicode.

    Parameters
    ----------
    network
        The network read from the upload.
    name, source
        The stored network's name and source file name.

    Returns
    -------
    list of Problem
        One per bad text, at ``nodes[<id>].<attribute>`` and the like.
    """
    nodes = _limits(NodeRecord.__table__)  # type: ignore[arg-type]
    networks = _limits(NetworkRecord.__table__)  # type: ignore[arg-type]
    bom = _limits(BomRecord.__table__)  # type: ignore[arg-type]
    sites = _limits(SiteCapacityRecord.__table__)  # type: ignore[arg-type]
    problems: list[Problem] = []

    def check(where: str, value: str, limit: int | None) -> None:
        wrong = _text_problem(value, limit)
        if wrong is not None:
            problems.append(Problem(where, wrong))

    check("name", name, networks.get("name"))
    check("source", source, networks.get("source"))
    for node in network.nodes:
        key = f"nodes[{node.id[:80]}]"
        check(f"{key}.id", node.id, nodes.get("node_id"))
        for attr in ("material", "site", "organization", "party", "country", "material_class", "name", "program"):
            check(f"{key}.{attr}", getattr(node, attr), nodes.get(attr))
        check(f"{key}.chokepoints", ";".join(node.chokepoints), None)
    for line in network.bom:
        check(f"bom[{line.node[:80]}/{line.material[:80]}].material", line.material, bom.get("material"))
    for capacity in network.site_capacities:
        check(f"site_capacities[{capacity.site[:80]}].site", capacity.site, sites.get("site"))
    return problems


def name_problems(name: str) -> list[Problem]:
    """A network name the database could not store, as problems (checked before an import is queued)."""
    wrong = _text_problem(name, _limits(NetworkRecord.__table__).get("name"))  # type: ignore[arg-type]
    return [] if wrong is None else [Problem("name", wrong)]


@dataclass(frozen=True, slots=True)
class UploadLimits:
    """How large an upload may be: the file, a .zip's (or .xlsx's) files and unpacked bytes, rows, nodes, edges."""

    max_upload_bytes: int
    max_zip_files: int
    max_zip_bytes: int
    max_rows: int = DEFAULT_MAX_UPLOAD_ROWS
    max_nodes: int = DEFAULT_MAX_NODES
    max_supplies: int = DEFAULT_MAX_SUPPLIES

    @classmethod
    def of(cls, settings: ApiSettings) -> UploadLimits:
        """The limits a server's settings set."""
        return cls(
            settings.max_upload_bytes,
            settings.max_zip_files,
            settings.max_zip_bytes,
            settings.max_upload_rows,
            settings.max_nodes,
            settings.max_supplies,
        )


def check_unpacked_size(path: Path, max_bytes: int) -> None:
    """Refuse an .xlsx workbook (a zip of XML parts) that would unpack to more than ``max_bytes``.

    The sizes come from the archive's directory; a member that holds more than it declares fails its
    CRC check while being read, so the declared sizes bound what the reader decompresses.

    Raises
    ------
    UploadTooLarge
        Past the limit.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return  # not a zip at all: the workbook reader says so with its own message
    if declared > max_bytes:
        raise UploadTooLarge(f"the workbook unpacks to {declared:,} bytes; at most {max_bytes:,} are accepted")


def check_network_size(network: Network, limits: UploadLimits) -> None:
    """Refuse a network with more nodes or supply edges than the server accepts from one upload.

    Raises
    ------
    UploadTooLarge
        Naming the count and the limit.
    """
    if len(network.nodes) > limits.max_nodes:
        raise UploadTooLarge(f"the network has {len(network.nodes):,} nodes; at most {limits.max_nodes:,} are accepted")
    if len(network.supplies) > limits.max_supplies:
        raise UploadTooLarge(
            f"the network has {len(network.supplies):,} supply edges; at most {limits.max_supplies:,} are accepted"
        )


@dataclass(frozen=True, slots=True)
class UploadedNetwork:
    """A network read from an uploaded file, with the name, format and source it is to be stored under."""

    network: Network
    name: str
    format: Literal["setu", "accelerator", "willems"]
    source: str


def read_uploaded_network(
    stream: BinaryIO, filename: str | None, format: UploadFormat, name: str | None, limits: UploadLimits
) -> UploadedNetwork:
    """Read an uploaded network file the way every upload is read: saved within the limit, unpacked, checked.

    The file goes to a temporary folder (removed afterwards), a .zip of CSV tables is unpacked with
    :func:`unpack_zip`'s guards, the network is read in the chosen format with problems named by the
    uploaded file's name, and texts the database could not store are problems too.

    Parameters
    ----------
    stream
        The uploaded file.
    filename
        The name the client gave it (reduced with :func:`safe_filename`).
    format
        ``auto`` (from the name), ``setu``, ``accelerator`` or ``willems``.
    name
        The name to store the network under; blank: the file's name without its suffix.
    limits
        The size limits.

    Returns
    -------
    UploadedNetwork
        The network and how to store it.

    Raises
    ------
    UploadTooLarge
        If the file is over ``limits.max_upload_bytes``.
    setu.errors.InputError
        Listing every problem found, each at its place in the uploaded file.
    """
    safe = safe_filename(filename)
    chosen = choose_format(safe, format)
    with tempfile.TemporaryDirectory(prefix="setu-upload-") as tmp:
        folder = Path(tmp)
        saved = folder / "upload" / safe
        save_upload(stream, saved, limits.max_upload_bytes)
        target, roots = saved, [folder / "upload"]
        if saved.suffix.lower() == ".zip":
            unpacked = folder / "unpacked" / safe
            unpacked.mkdir(parents=True)
            target = unpack_zip(saved, unpacked, max_files=limits.max_zip_files, max_bytes=limits.max_zip_bytes)
            roots = [folder / "unpacked", folder / "upload"]
        elif saved.suffix.lower() in (".xlsx", ".xlsm"):
            check_unpacked_size(saved, limits.max_zip_bytes)
        network = read_upload(target, chosen, roots, safe, max_rows=limits.max_rows)
    check_network_size(network, limits)
    stored_name = name.strip() if name and name.strip() else (Path(safe).stem or safe)
    problems = storable_problems(network, name=stored_name, source=safe)
    if problems:
        raise InputError(problems)
    return UploadedNetwork(network, stored_name, chosen, safe)
