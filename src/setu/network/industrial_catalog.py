"""The ILLUSTRATIVE catalogue the industrial-base generator draws from: program kinds, tiers, material classes, routes.

Rows only; :mod:`setu.network.industrial_base` turns them into networks. Time unit: weeks (demand and
capacity per week, inventory in units on hand, TTR in weeks), as in the demo network. Mine shares of
the first seven raw materials follow the USGS Mineral Commodity Summaries 2025 figures the demo uses
(``setu.demo.data.USGS_SHARES``) with its illustrative residual split; every other share, range and
route is made up to look like a defense industrial base, not to describe one.

Examples
--------
>>> [level.key for level in levels_for(4)]
['subsystem', 'component', 'processed', 'raw']
>>> dict(RAW.classes[1].origins)["CN"]
99.0
"""

from __future__ import annotations

from dataclasses import dataclass

Range = tuple[float, float]


@dataclass(frozen=True, slots=True)
class ProgramKind:
    """A kind of weapons program; each program's end products draw demand and value from its ranges."""

    key: str
    demand: Range
    """End products (or modules, kits, pallets) wanted per week (drawn log-uniformly)."""
    weight: Range
    """Value of a lost end product, $ million (drawn log-uniformly)."""
    subsystems: tuple[str, ...]
    """Keys of the subsystem classes its own (program-specific) subsystems are drawn from."""


@dataclass(frozen=True, slots=True)
class MaterialClass:
    """A family of materials; where its makers are (country weights) and whether it ships by sea."""

    key: str
    label: str
    origins: tuple[tuple[str, float], ...]
    by_sea: bool = False
    """Shipped by sea, so the straits on the maker's outbound route apply; otherwise air or land."""


@dataclass(frozen=True, slots=True)
class Level:
    """One tier of suppliers: what it makes and the ranges its nodes and bills of materials draw from."""

    key: str
    classes: tuple[MaterialClass, ...]
    size: float
    """Weight of the tier in the node count (products weigh 1)."""
    producers: float
    """Mean number of nodes making one material of the tier."""
    bom: tuple[int, int]
    """Materials a node of this tier needs (inclusive; leaves need none)."""
    program_share: float
    """Share of the tier's materials made for one program only; the rest serve every program."""
    alternates: tuple[float, float, float]
    """Chance that a customer qualifies 1, 2 or 3 makers of a material of this tier."""
    quantity: Range
    """Units of a material of this tier per unit of its customer (log-uniform)."""
    whole: bool
    """Quantities are whole units (parts), not kilograms (materials)."""
    ttr: tuple[int, int]
    """Weeks a node takes to recover (inclusive)."""
    cover: Range
    """Weeks of its own throughput a node holds in stock."""
    site_size: float
    """Mean number of nodes (lines) at one site."""


_AIR = ("airframe-section", "propulsion-module", "mission-computer")
PROGRAM_KINDS: tuple[ProgramKind, ...] = (
    # Big platforms count in modules or kits and munitions in pallets, so that every kind wants between
    # 0.2 and 50 a week: the stress LPs stay well scaled.
    ProgramKind("fighter-aircraft", (0.2, 1.0), (50.0, 110.0), (*_AIR, "radar-array", "ew-suite", "fire-control")),
    ProgramKind("transport-aircraft", (0.2, 0.5), (80.0, 200.0), (*_AIR, "radar-array")),
    ProgramKind("helicopter", (0.3, 1.5), (15.0, 45.0), (*_AIR, "ew-suite", "fire-control")),
    ProgramKind("aero-engine", (0.5, 3.0), (5.0, 15.0), ("propulsion-module", "mission-computer")),
    ProgramKind("cruise-missile", (2.0, 20.0), (1.0, 4.0), (*_AIR, "seeker", "warhead")),
    ProgramKind(
        "air-defence-missile", (5.0, 40.0), (0.5, 4.0), ("seeker", "warhead", "rocket-motor", "airframe-section")
    ),
    ProgramKind("anti-tank-missile", (10.0, 50.0), (0.1, 0.25), ("seeker", "warhead", "rocket-motor", "fire-control")),
    ProgramKind("artillery-munitions", (5.0, 50.0), (0.3, 0.8), ("warhead", "rocket-motor")),
    ProgramKind(
        "submarine-refit", (0.5, 2.0), (20.0, 60.0), ("sonar-suite", "power-pack", "hull-module", "fire-control")
    ),
    ProgramKind(
        "naval-combatant",
        (0.2, 1.0),
        (40.0, 120.0),
        ("hull-module", "power-pack", "radar-array", "sonar-suite", "ew-suite", "fire-control"),
    ),
    ProgramKind("armoured-vehicle", (1.0, 10.0), (3.0, 10.0), ("hull-module", "power-pack", "fire-control")),
    ProgramKind("radar-ew", (1.0, 8.0), (2.0, 20.0), ("radar-array", "ew-suite", "mission-computer", "power-pack")),
)
PRODUCT_BOM = (6, 16)
"""Materials (subsystems mostly) an end product needs (inclusive)."""
PRODUCT_TTR = (12, 52)
PRODUCT_COVER = (0.0, 2.0)
PRODUCT_SITE_SIZE = 1.5

_PARTIES = (("US", 45.0), ("IN", 35.0), ("FR", 5.0), ("IL", 5.0), ("GB", 4.0), ("DE", 3.0), ("JP", 3.0))
_MAKERS = (("US", 40.0), ("IN", 35.0), ("DE", 5.0), ("JP", 5.0), ("KR", 5.0), ("GB", 4.0), ("FR", 3.0), ("IL", 3.0))
_ELECTRONICS = (("TW", 40.0), ("US", 30.0), ("KR", 10.0), ("JP", 8.0), ("CN", 7.0), ("MY", 5.0))
_C = MaterialClass

SUBSYSTEM = Level(
    "subsystem",
    tuple(
        _C(key, label, _PARTIES)
        for key, label in (
            ("airframe-section", "airframe section"),
            ("propulsion-module", "propulsion module"),
            ("radar-array", "radar array"),
            ("ew-suite", "electronic-warfare suite"),
            ("mission-computer", "mission computer"),
            ("seeker", "missile seeker"),
            ("warhead", "warhead"),
            ("rocket-motor", "solid rocket motor"),
            ("hull-module", "hull module"),
            ("power-pack", "power pack"),
            ("fire-control", "fire-control system"),
            ("sonar-suite", "sonar suite"),
        )
    ),
    size=8,
    producers=2.2,
    bom=(3, 7),
    program_share=0.8,
    alternates=(0.45, 0.4, 0.15),
    quantity=(1, 2),
    whole=True,
    ttr=(8, 40),
    cover=(1.0, 6.0),
    site_size=2.0,
)
COMPONENT = Level(
    "component",
    (
        _C("casting", "precision casting", _MAKERS, by_sea=True),
        _C("forging", "closed-die forging", _MAKERS, by_sea=True),
        _C("machined-structure", "machined structure", _MAKERS),
        _C(
            "pcb-assembly",
            "circuit-card assembly",
            (("US", 35.0), ("IN", 30.0), ("TW", 15.0), ("MY", 10.0), ("MX", 10.0)),
        ),
        _C("gan-mmic", "GaN MMIC", (("US", 60.0), ("JP", 15.0), ("TW", 15.0), ("IN", 10.0))),
        _C("processor", "FPGA or processor", _ELECTRONICS),
        _C("actuator", "electromechanical actuator", _MAKERS),
        _C("bearing", "precision bearing", (("DE", 25.0), ("JP", 25.0), ("US", 25.0), ("IN", 15.0), ("SE", 10.0))),
        _C("harness", "wiring harness", (("IN", 40.0), ("US", 30.0), ("MX", 20.0), ("VN", 10.0))),
        _C("optics", "infrared optics", (("US", 40.0), ("IL", 20.0), ("FR", 15.0), ("DE", 15.0), ("CN", 10.0))),
        _C("thermal-battery", "thermal battery", (("US", 60.0), ("IN", 20.0), ("FR", 20.0))),
        _C("gearbox", "gearbox", _MAKERS),
    ),
    size=16,
    producers=2.6,
    bom=(2, 5),
    program_share=0.5,
    alternates=(0.3, 0.45, 0.25),
    quantity=(1, 2),
    whole=True,
    ttr=(4, 30),
    cover=(2.0, 10.0),
    site_size=2.5,
)
PART = Level(
    "part",
    (
        _C("fastener", "aerospace fastener", _MAKERS),
        _C("connector", "connector", (("US", 40.0), ("CN", 20.0), ("TW", 15.0), ("IN", 15.0), ("DE", 10.0))),
        _C("capacitor", "tantalum capacitor", (("CN", 35.0), ("US", 25.0), ("JP", 20.0), ("MX", 10.0), ("IN", 10.0))),
        _C("sensor", "MEMS sensor", _ELECTRONICS),
        _C("seal", "elastomer seal", _MAKERS),
        _C("cable", "RF cable", _MAKERS),
        _C("semiconductor", "discrete semiconductor", _ELECTRONICS, by_sea=True),
        _C("spring", "spring", _MAKERS),
    ),
    size=24,
    producers=3.0,
    bom=(1, 4),
    program_share=0.2,
    alternates=(0.2, 0.45, 0.35),
    quantity=(1, 4),
    whole=True,
    ttr=(2, 16),
    cover=(3.0, 12.0),
    site_size=3.0,
)
PROCESSED = Level(
    "processed",
    (
        _C("ndfeb-magnet", "NdFeB magnet", (("CN", 90.0), ("JP", 7.0), ("DE", 2.0), ("US", 1.0)), by_sea=True),
        _C("smco-magnet", "SmCo magnet", (("CN", 75.0), ("US", 12.0), ("JP", 8.0), ("IN", 5.0)), by_sea=True),
        _C(
            "re-oxide", "separated rare-earth oxide", (("CN", 90.0), ("MY", 5.0), ("EE", 3.0), ("US", 2.0)), by_sea=True
        ),
        _C(
            "titanium-sponge",
            "titanium sponge",
            (("CN", 57.0), ("JP", 17.0), ("RU", 13.0), ("KZ", 8.0), ("IN", 3.0), ("SA", 2.0)),
            by_sea=True,
        ),
        _C(
            "tungsten-alloy", "tungsten heavy alloy", (("CN", 80.0), ("AT", 8.0), ("US", 7.0), ("IN", 5.0)), by_sea=True
        ),
        _C(
            "superalloy",
            "nickel superalloy bar",
            (("US", 55.0), ("GB", 15.0), ("DE", 10.0), ("JP", 10.0), ("IN", 10.0)),
        ),
        _C("gan-epi", "GaN epitaxial wafer", (("US", 30.0), ("JP", 35.0), ("TW", 20.0), ("CN", 15.0))),
        _C(
            "armour-steel", "armour steel plate", (("IN", 30.0), ("US", 30.0), ("SE", 15.0), ("DE", 15.0), ("JP", 10.0))
        ),
        _C(
            "carbon-fibre",
            "carbon-fibre prepreg",
            (("JP", 50.0), ("US", 30.0), ("FR", 10.0), ("DE", 10.0)),
            by_sea=True,
        ),
        _C(
            "energetics", "energetics (RDX, HMX)", (("US", 40.0), ("IN", 35.0), ("PL", 10.0), ("KR", 10.0), ("DE", 5.0))
        ),
    ),
    size=12,
    producers=3.5,
    bom=(1, 3),
    program_share=0.0,
    alternates=(0.3, 0.45, 0.25),
    quantity=(0.5, 2.0),
    whole=False,
    ttr=(12, 52),
    cover=(4.0, 12.0),
    site_size=2.0,
)
RAW = Level(
    "raw",
    (
        _C(
            "rare-earth",
            "rare-earth concentrate",
            (("CN", 69.2), ("US", 11.5), ("MM", 7.9), ("AU", 3.3), ("NG", 3.3), ("TH", 3.3), ("IN", 0.7), ("RU", 0.8)),
            by_sea=True,
        ),
        _C("gallium", "primary gallium", (("CN", 99.0), ("RU", 0.5), ("JP", 0.3), ("KR", 0.2)), by_sea=True),
        _C("germanium", "refined germanium", (("CN", 86.0), ("CA", 7.0), ("RU", 4.0), ("BE", 3.0)), by_sea=True),
        _C(
            "tungsten",
            "tungsten concentrate",
            (("CN", 83.0), ("VN", 5.0), ("RU", 3.0), ("BO", 3.0), ("RW", 2.0), ("AT", 1.5), ("ES", 1.5), ("PT", 1.0)),
            by_sea=True,
        ),
        _C(
            "antimony",
            "antimony",
            (("CN", 60.0), ("TJ", 17.0), ("RU", 13.0), ("BO", 3.0), ("TR", 2.5), ("MM", 2.5), ("AU", 2.0)),
            by_sea=True,
        ),
        _C(
            "graphite",
            "natural flake graphite",
            (("CN", 79.0), ("MG", 6.0), ("MZ", 5.0), ("BR", 5.0), ("IN", 3.0), ("CA", 2.0)),
            by_sea=True,
        ),
        _C(
            "cobalt",
            "cobalt",
            (("CD", 76.0), ("ID", 10.0), ("RU", 3.5), ("AU", 2.5), ("PH", 3.0), ("CA", 2.5), ("CU", 2.5)),
            by_sea=True,
        ),
        _C(
            "titanium-ore",
            "ilmenite and rutile",
            (("CN", 30.0), ("MZ", 20.0), ("ZA", 15.0), ("AU", 15.0), ("IN", 20.0)),
            by_sea=True,
        ),
        _C(
            "nickel",
            "refined nickel",
            (("ID", 55.0), ("PH", 10.0), ("RU", 10.0), ("CA", 10.0), ("AU", 15.0)),
            by_sea=True,
        ),
        _C("beryllium", "beryllium", (("US", 60.0), ("CN", 25.0), ("KZ", 10.0), ("BR", 5.0)), by_sea=True),
    ),
    size=6,
    producers=6.0,
    bom=(0, 0),
    program_share=0.0,
    alternates=(0.15, 0.35, 0.5),
    quantity=(0.5, 2.0),
    whole=False,
    ttr=(26, 78),
    cover=(2.0, 8.0),
    site_size=1.3,
)

_LEVELS = {
    3: (SUBSYSTEM, PROCESSED, RAW),
    4: (SUBSYSTEM, COMPONENT, PROCESSED, RAW),
    5: (SUBSYSTEM, COMPONENT, PART, PROCESSED, RAW),
}
SUPPLIER_TIERS = tuple(sorted(_LEVELS))
"""How many supplier tiers a network may have below its products."""


def levels_for(tiers: int) -> tuple[Level, ...]:
    """The levels of supplier tiers 1..``tiers``: subsystems first, raw materials last."""
    if tiers not in _LEVELS:
        raise ValueError(f"tiers must be one of {', '.join(map(str, SUPPLIER_TIERS))}, got {tiers}")
    return _LEVELS[tiers]


MALACCA, BAB, SUEZ, TAIWAN, PANAMA = (
    "Strait of Malacca",
    "Bab-el-Mandeb",
    "Suez Canal",
    "Taiwan Strait",
    "Panama Canal",
)
ROUTES: dict[str, tuple[str, ...]] = {
    # Straits a sea shipment from the country to India or the US crosses (coarse, illustrative).
    **dict.fromkeys(("CN", "JP", "KR", "VN", "ID", "PH", "TH", "MY", "MM"), (MALACCA,)),
    "TW": (TAIWAN, MALACCA),
    **dict.fromkeys(("DE", "FR", "GB", "BE", "AT", "ES", "PT", "SE", "PL", "EE", "RU", "TR"), (SUEZ, BAB)),
    **dict.fromkeys(("CD", "MZ", "MG", "RW", "ZA", "NG", "TJ", "KZ"), (BAB, SUEZ)),
    "IL": (BAB,),
    "SA": (BAB,),
    **dict.fromkeys(("BO", "BR", "CU"), (PANAMA,)),
}
