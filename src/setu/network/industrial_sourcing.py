"""Who makes what and who buys from whom in a synthetic industrial base: programs, materials, BOM lines, alternates.

The building blocks of :func:`setu.network.industrial_base.industrial_base`, as index arrays: nothing
here makes a :class:`~setu.network.model.Node`. Node ``0 .. p-1`` are the end products, then each
supplier tier in turn; materials are numbered across the supplier tiers, tier by tier.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from setu.network.industrial_catalog import (
    PRODUCT_BOM,
    PRODUCT_COVER,
    PRODUCT_SITE_SIZE,
    PRODUCT_TTR,
    PROGRAM_KINDS,
    Level,
)

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]

LEAD_PARTIES = ("IN", "US")
"""The two parties; each program's end products are assembled in one of them."""
SKIP_TIER = 0.1
"""Chance that a bill-of-materials line reaches past the next tier down (a subsystem buying magnets)."""
POPULARITY = 1.5
"""Skew of material picks (1: uniform): a few parts go into many assemblies, most into few."""


class Programs:
    """The weapons programs (kind, name, size, lead party) and the program of each end product."""

    def __init__(self, rng: np.random.Generator, programs: int, products: int) -> None:
        self.kind = rng.permutation(len(PROGRAM_KINDS))[np.arange(programs) % len(PROGRAM_KINDS)]
        self.names = [f"{PROGRAM_KINDS[k].key}-{g // len(PROGRAM_KINDS) + 1}" for g, k in enumerate(self.kind.tolist())]
        appeal = rng.lognormal(0.0, 0.5, programs)
        self.weights: Floats = appeal / appeal.sum()
        self.lead = rng.integers(0, len(LEAD_PARTIES), programs)
        # Every program has an end product; the others go to programs by size, grouped by program.
        extra = rng.choice(programs, products - programs, p=self.weights)
        self.of_product: Ints = np.sort(np.concatenate([np.arange(programs), extra]))


class Materials:
    """The supplier materials, tier by tier: class, owning program (-1: shared) and their makers' node range."""

    def __init__(self, rng: np.random.Generator, sizes: list[int], levels: tuple[Level, ...], plan: Programs) -> None:
        tiers, classes, programs, counts = [], [], [], []
        self.classes = [c for level in levels for c in level.classes]
        self.class_offset = np.cumsum([0] + [len(level.classes) for level in levels])
        for t, level in enumerate(levels, start=1):
            n = sizes[t]
            m = min(n, max(1, round(n / level.producers)))
            tiers.append(np.full(m, t, dtype=np.int64))
            # Round-robin over a shuffled class order: every class appears once the tier has enough materials.
            classes.append(
                self.class_offset[t - 1] + rng.permutation(len(level.classes))[np.arange(m) % len(level.classes)]
            )
            owned = rng.random(m) < level.program_share
            owner = np.where(owned, rng.choice(len(plan.weights), m, p=plan.weights), -1)
            programs.append(owner)
            keys = [c.key for c in level.classes]
            for k, kind in enumerate(PROGRAM_KINDS):  # a program's own subsystems suit it: no sonar in a missile
                fitting = np.array([keys.index(c) for c in kind.subsystems if c in keys], dtype=np.int64)
                mine = np.flatnonzero(owned & (plan.kind[np.maximum(owner, 0)] == k))
                if len(fitting) and len(mine):
                    classes[-1][mine] = self.class_offset[t - 1] + fitting[rng.integers(0, len(fitting), len(mine))]
            # One maker per material, then the rest dealt by a skewed weight: some single makers, some many.
            appeal = rng.lognormal(0.0, 0.75, m)
            dealt = np.concatenate([np.arange(m), rng.choice(m, n - m, p=appeal / appeal.sum())])
            counts.append(np.bincount(dealt, minlength=m))
        self.tier = np.concatenate(tiers)
        self.klass = np.concatenate(classes).astype(np.int64)
        self.program = np.concatenate(programs).astype(np.int64)
        self.count = np.concatenate(counts).astype(np.int64)
        self.start = sizes[0] + np.cumsum(self.count) - self.count
        self.n = len(self.tier)

    def node_material(self) -> Ints:
        """The material of each supplier node, in node order (makers of a material are neighbours)."""
        return np.repeat(np.arange(self.n, dtype=np.int64), self.count)

    def names(self, keys: list[str]) -> list[str]:
        """``<class key>-<k>``: the k-th material of its class."""
        order = np.argsort(self.klass, kind="stable")
        ranked = self.klass[order]
        rank = np.empty(self.n, dtype=np.int64)
        rank[order] = np.arange(self.n) - np.searchsorted(ranked, ranked, side="left")
        return [f"{keys[c]}-{r + 1}" for c, r in zip(self.klass.tolist(), rank.tolist(), strict=True)]


def bom_lines(
    rng: np.random.Generator,
    mats: Materials,
    node_tier: Ints,
    affinity: Ints,
    programs: int,
    per_tier: dict[str, Floats],
) -> tuple[Ints, Ints]:
    """(customer, material) of every BOM line, sorted by customer then material; every material needed."""
    tiers = int(node_tier.max())
    ctier = node_tier[node_tier < tiers]  # raw materials need nothing
    customers = len(ctier)
    wanted = rng.integers(per_tier["bom_lo"][ctier].astype(np.int64), per_tier["bom_hi"][ctier].astype(np.int64) + 1)
    customer = np.repeat(np.arange(customers, dtype=np.int64), wanted)
    lines = len(customer)
    own = node_tier[customer]
    target = own + 1
    room = tiers - own - 1
    skip = (rng.random(lines) < SKIP_TIER) & (room > 0) & (own > 0)  # final assembly buys subsystems only
    target[skip] += 1 + np.floor(rng.random(int(skip.sum())) * room[skip]).astype(np.int64)

    # Materials sorted by (tier, owning program): the pool a line draws from is one contiguous run.
    width = programs + 1
    keys = mats.tier * width + mats.program + 1
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    own_program = rng.random(lines) < per_tier["program_share"][target]
    key = target * width + np.where(own_program, affinity[customer] + 1, 0)
    start = np.searchsorted(sorted_keys, key, side="left")
    count = np.searchsorted(sorted_keys, key, side="right") - start
    for whole_tier in (False, True):  # a program with no material of its own here: the shared pool, else any
        empty = np.flatnonzero(count == 0)
        low = target[empty] * width
        high = (target[empty] + 1) * width if whole_tier else low + 1
        start[empty] = np.searchsorted(sorted_keys, low, side="left")
        count[empty] = np.searchsorted(sorted_keys, high, side="left") - start[empty]
    pick = order[start + np.floor(rng.random(lines) ** POPULARITY * count).astype(np.int64)]

    # A material nobody needs gets one customer from the tier above it.
    needed = np.zeros(mats.n, dtype=bool)
    needed[pick] = True
    missing = np.flatnonzero(~needed)
    above = mats.tier[missing] - 1
    tier_start = np.searchsorted(node_tier, np.arange(tiers + 1), side="left")
    tier_size = np.bincount(node_tier, minlength=tiers + 1)
    extra = tier_start[above] + np.floor(rng.random(len(missing)) * tier_size[above]).astype(np.int64)
    drawn = np.sort(np.concatenate([customer, extra]) * mats.n + np.concatenate([pick, missing]))
    # A line drawn twice is one line (np.unique hashes, several times slower on millions of keys).
    drawn = drawn[np.concatenate([[True], drawn[1:] != drawn[:-1]])]
    return drawn // mats.n, drawn % mats.n


def supplier_edges(
    rng: np.random.Generator, mats: Materials, line_material: Ints, n_nodes: int, products: int, alternates: Floats
) -> tuple[Ints, Ints]:
    """(line, supplier) of every supply edge: 1-3 distinct makers per line, every maker on some line."""
    lines = len(line_material)
    makers = mats.count[line_material]
    level = mats.tier[line_material]
    u = rng.random(lines)
    chosen = 1 + (u >= alternates[level, 0]) + (u >= alternates[level, 0] + alternates[level, 1])
    chosen = np.minimum(chosen, makers)
    offset = np.floor(rng.random(lines) * makers).astype(np.int64)
    edge_line = np.repeat(np.arange(lines, dtype=np.int64), chosen)
    step = np.arange(len(edge_line)) - np.repeat(np.cumsum(chosen) - chosen, chosen)
    supplier = mats.start[line_material][edge_line] + (offset[edge_line] + step) % makers[edge_line]

    # A maker no customer qualified becomes one more alternate on a line that needs its material.
    served = np.zeros(n_nodes, dtype=bool)
    served[supplier] = True
    served[:products] = True
    idle = np.flatnonzero(~served)
    material = mats.node_material()[idle - products]
    by_material = np.argsort(line_material, kind="stable")
    per_material = np.bincount(line_material, minlength=mats.n)
    first = np.cumsum(per_material) - per_material
    line = by_material[first[material] + np.floor(rng.random(len(idle)) * per_material[material]).astype(np.int64)]
    return np.concatenate([edge_line, line]), np.concatenate([supplier, idle])


def tier_table(levels: tuple[Level, ...]) -> dict[str, Floats]:
    """The catalogue's ranges as arrays indexed by tier (0: the products)."""
    columns: dict[str, Sequence[float]] = {
        "bom_lo": [PRODUCT_BOM[0]] + [level.bom[0] for level in levels],
        "bom_hi": [PRODUCT_BOM[1]] + [level.bom[1] for level in levels],
        "program_share": [0.0] + [level.program_share for level in levels],
        "ttr_lo": [PRODUCT_TTR[0]] + [level.ttr[0] for level in levels],
        "ttr_hi": [PRODUCT_TTR[1]] + [level.ttr[1] for level in levels],
        "cover_lo": [PRODUCT_COVER[0]] + [level.cover[0] for level in levels],
        "cover_hi": [PRODUCT_COVER[1]] + [level.cover[1] for level in levels],
        "site_size": [PRODUCT_SITE_SIZE] + [level.site_size for level in levels],
        "q_lo": [1.0] + [level.quantity[0] for level in levels],
        "q_hi": [1.0] + [level.quantity[1] for level in levels],
        "whole": [1.0] + [float(level.whole) for level in levels],
    }
    arrays = {key: np.array(values, dtype=np.float64) for key, values in columns.items()}
    arrays["alternates"] = np.array([(1.0, 0.0, 0.0)] + [level.alternates for level in levels], dtype=np.float64)
    return arrays
