"""The networks the suite makes itself, so that it needs nothing outside the repository.

``small()`` and ``large()`` are :func:`setu.network.generate.three_tier` networks of the shapes of the
published accelerator data sets (5/10/20 and 200/500/1000 nodes per tier). The small one's seed is
chosen so that the world of ``tests/networks/world.py`` has what its tests look for (see ``SEED``).
Only the checks against published expected values read ``../shared/data`` (the ``shared_data``
fixture) and skip without it.
"""

from __future__ import annotations

import csv
from pathlib import Path

from setu.network.generate import three_tier
from setu.network.io.accelerator import write_accelerator
from setu.network.model import Network

SMALL = (5, 10, 20)
LARGE = (200, 500, 1000)
SEED = 34591
"""The small network's seed. In it, as the dressed world's tests rely on: T3_1 is T2_1's only
supplier; T2_7, T2_8 and T2_9 (material aac) share customers, so each is the others' alternate;
T3_18 ships only to T2_9; T2_6 ships to T1_2, T1_3 and T1_4 and is the only source of aab for
T1_2 and T1_4; T2_8 is the only source of aac for T1_4; 44 supply edges; a node sweep with each
node's own TTR loses something in 5 scenarios."""
LARGE_SEED = 777


def small() -> Network:
    """The generated small network (35 nodes), a fresh one each call."""
    return three_tier(*SMALL, seed=SEED)


def large() -> Network:
    """The generated large network (1,700 nodes)."""
    return three_tier(*LARGE, seed=LARGE_SEED)


def ttr_table(network: Network) -> dict[str, float]:
    """Each node's own TTR estimate, in node order (products have none)."""
    return {node.id: node.ttr for node in network.nodes if node.ttr is not None}


def write_ttr_csv(network: Network, path: Path) -> Path:
    """The TTR table as ``node,ttr`` rows, the layout of the accelerator's TTR files."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["node", "ttr"])
        writer.writerows((node, f"{ttr:g}") for node, ttr in ttr_table(network).items())
    return path


def write_files(folder: Path) -> Path:
    """The generated networks as files in ``folder``: the accelerator's layout and a Willems chain.

    ``dataset_{small,large}.json`` and ``ttr_{small,large}.csv`` as the published accelerator data
    sets name theirs, and ``01.csv``, the small network as a Willems chain (InvNet-GSM layout).
    """
    folder.mkdir(parents=True, exist_ok=True)
    for size, network in (("small", small()), ("large", large())):
        write_accelerator(network, folder / f"dataset_{size}.json")
        write_ttr_csv(network, folder / f"ttr_{size}.csv")
    write_willems(small(), folder / "01.csv")
    return folder


WILLEMS_CLASS = {"tier1": "Retail", "tier2": "Manuf", "tier3": "Part"}
"""The Willems stage class of each tier of a generated network."""


def write_willems(network: Network, path: Path) -> Path:
    """A three-tier network as a Willems (2008) chain in the InvNet-GSM layout (``NN.csv``).

    Each node is a stage (its class after its tier, its TTR as stage time, a cost per tier), each
    supply edge an arc, each product a demand stage. The chain has no alternates: a Willems stage
    makes its own item, so the reader derives capacities from the demand through each stage.
    """
    header = [
        "/@company", "/arcs/arc/@from", "/arcs/arc/@to", "/stages/stage/@avgDemand",
        "/stages/stage/@stageClassification", "/stages/stage/@stageCost", "/stages/stage/@stageName",
        "/stages/stage/@stageTime",
    ]  # fmt: skip
    demand = {product.node: f"{product.demand:g}" for product in network.products}
    cost = {"tier1": 3, "tier2": 2, "tier3": 1}
    lines = ["\ufeff/chain" + "," * (len(header) - 1), ",".join(header)]
    lines += [f"1,{supply.supplier},{supply.customer},,,,," for supply in network.supplies]
    for node in network.nodes:
        time = node.ttr if node.ttr is not None else 1.0
        stage = WILLEMS_CLASS[node.material_class]
        lines.append(f"1,,,{demand.get(node.id, '')},{stage},{cost[node.material_class]},{node.id},{time:g}")
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path
