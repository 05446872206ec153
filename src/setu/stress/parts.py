"""A sweep's results streamed to a folder of Parquet parts as batches complete, so a killed sweep resumes.

Each completed batch becomes one part, written under a temporary name and renamed into place, so a part
is either whole or absent: a sweep killed at any moment loses at most the batches it was solving. The
folder's ``sweep.json`` names the sweep (a digest of the network, the scenarios and the options); a folder
holding another sweep's parts is refused rather than mixed in.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from setu.errors import InputError
from setu.network.compile import CompiledNetwork
from setu.stress.scenarios import Scenario
from setu.stress.solver import PI_HALF, TTS_HALF, BatchResult

MANIFEST = "sweep.json"
FORMAT = 2
"""2: each row holds a scenario's PI, its TTS or both (``halves``), as a sweep batches the two apart."""
_COLUMNS = ("position", "scenario_id", "halves", "lost_profit", "tts", "ttr_seconds", "tts_seconds")


def sweep_digest(net: CompiledNetwork, scenarios: Sequence[Scenario], compute_tts: bool) -> str:
    """A SHA-256 over everything a sweep's results depend on: every array and name of the network,
    every scenario (id, nodes, TTR, severity) in order, and whether TTS is computed."""
    h = hashlib.sha256(f"setu-sweep-{FORMAT}:{compute_tts}".encode())
    for f in dataclasses.fields(net):
        value = getattr(net, f.name)
        h.update(f.name.encode())
        if isinstance(value, np.ndarray):
            h.update(str(value.dtype).encode())
            h.update(np.ascontiguousarray(value).tobytes())
        else:
            h.update(json.dumps(value, sort_keys=True, default=list).encode())
    for s in scenarios:
        h.update(json.dumps([s.id, s.nodes, s.ttr, s.severity]).encode())
    return h.hexdigest()


class ResultParts:
    """The Parquet parts of one sweep in ``folder``; :meth:`open` creates the folder or resumes from it.

    Examples
    --------
    >>> import tempfile
    >>> from setu.network.compile import compile_network
    >>> from setu.network.generate import three_tier
    >>> from setu.stress.scenarios import node_sweep
    >>> net = compile_network(three_tier(4, 6, 8, seed=1))
    >>> scenarios = node_sweep(net, ttr=2.0)
    >>> parts = ResultParts.open(Path(tempfile.mkdtemp()) / "sweep.parts", net, scenarios, compute_tts=True)
    >>> both = np.array([PI_HALF | TTS_HALF], dtype=np.uint8)
    >>> parts.write(BatchResult(np.array([0]), both, np.array([1.5]), np.array([3.0]), np.zeros(1), np.zeros(1)))
    >>> parts.solved()
    1
    >>> [out.lost_profit.tolist() for out in parts.completed()]
    [[1.5]]
    """

    def __init__(self, folder: Path, scenario_ids: Sequence[str], compute_tts: bool = True) -> None:
        self.folder = folder
        self.scenario_ids = scenario_ids
        self.halves_per_scenario = 2 if compute_tts else 1
        self._next = 1 + max((int(p.stem.split("-")[1]) for p in self._part_files()), default=0)

    @classmethod
    def open(
        cls, folder: str | Path, net: CompiledNetwork, scenarios: Sequence[Scenario], compute_tts: bool
    ) -> ResultParts:
        """Create ``folder`` for this sweep, or reopen it if it holds this sweep's parts.

        Raises
        ------
        InputError
            The folder holds the parts of another sweep (another network, scenario set or options),
            or is not a sweep's folder at all.
        """
        folder = Path(folder)
        manifest = {
            "format": FORMAT,
            "network": net.name,
            "scenarios": len(scenarios),
            "compute_tts": compute_tts,
            "digest": sweep_digest(net, scenarios, compute_tts),
        }
        path = folder / MANIFEST
        if folder.exists():
            try:
                found = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raise InputError(
                    f"{folder} exists and is not the parts folder of a sweep; move it away or choose another --out",
                    str(folder),
                ) from None
            if found.get("format") != FORMAT:
                raise InputError(
                    f"{folder} holds parts in another format (version {found.get('format')}, this Setu writes "
                    f"version {FORMAT}): remove the folder to start again",
                    str(folder),
                )
            if found != manifest:
                raise InputError(
                    f"{folder} holds the parts of a different sweep (of {found.get('network')!r}, "
                    f"{found.get('scenarios')} scenarios): the network, the scenarios or the options changed. "
                    "Remove the folder to start again",
                    str(folder),
                )
            for stale in folder.glob("*.tmp"):
                stale.unlink()  # a part the killed sweep was writing: its batch runs again
        else:
            if not folder.parent.exists():
                raise InputError("the output folder does not exist", str(folder.parent))
            folder.mkdir()
            _write_atomically(path, json.dumps(manifest, indent=1).encode())
        return cls(folder, [s.id for s in scenarios], compute_tts)

    def _part_files(self) -> list[Path]:
        return sorted(self.folder.glob("part-*.parquet"))

    def write(self, out: BatchResult) -> None:
        """Store one completed batch as the next part, durably, before the sweep counts it done."""
        table = pa.table(
            {
                "position": pa.array(out.positions, pa.int64()),
                "scenario_id": pa.array([self.scenario_ids[int(p)] for p in out.positions], pa.string()),
                "halves": pa.array(out.halves, pa.uint8()),
                "lost_profit": pa.array(out.lost_profit, pa.float64()),
                "tts": pa.array(out.tts, pa.float64()),
                "ttr_seconds": pa.array(out.ttr_seconds, pa.float64()),
                "tts_seconds": pa.array(out.tts_seconds, pa.float64()),
            }
        )
        final = self.folder / f"part-{self._next:06d}.parquet"
        tmp = final.with_suffix(".tmp")
        pq.write_table(table, tmp)
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
        tmp.replace(final)
        _fsync_folder(self.folder)  # the rename itself must survive a crash, not only the part's bytes
        self._next += 1

    def solved(self) -> int:
        """How many scenarios' worth of results the stored parts hold (only their ``halves`` column is read).

        A sweep stores each scenario's PI and TTS apart: the halves stored, over the halves a scenario needs.
        """
        halves = 0
        for part in self._part_files():
            held = pq.read_table(part, columns=["halves"])["halves"].to_numpy()
            halves += int(np.count_nonzero(held & PI_HALF)) + int(np.count_nonzero(held & TTS_HALF))
        return halves // self.halves_per_scenario

    def completed(self) -> Iterator[BatchResult]:
        """Every stored part as a batch result, after checking it belongs to this sweep's scenarios."""
        for part in self._part_files():
            table = pq.read_table(part, columns=list(_COLUMNS))
            positions = table["position"].to_numpy()
            ids = table["scenario_id"].to_pylist()
            n = len(self.scenario_ids)
            if any(p < 0 or p >= n or self.scenario_ids[int(p)] != i for p, i in zip(positions, ids, strict=True)):
                raise InputError(f"{part} holds scenarios this sweep does not have; remove {self.folder}", str(part))
            yield BatchResult(
                positions.astype(np.int64),
                table["halves"].to_numpy().astype(np.uint8),
                table["lost_profit"].to_numpy(),
                table["tts"].to_numpy(),
                table["ttr_seconds"].to_numpy(),
                table["tts_seconds"].to_numpy(),
            )

    def remove(self) -> None:
        """Delete the folder once the sweep's results are written where they belong."""
        shutil.rmtree(self.folder)


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    tmp.replace(path)
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
