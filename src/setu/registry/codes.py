"""The capability code list: what a registry site can make, tied to the network's materials and material classes.

Codes are ``FAMILY-ITEM`` (``MET-FORGE``, ``MAT-REMAG``): the family groups related processes, the
item names one process. Each code lists the material classes it covers and, where a class spans
several processes (``gallium`` holds both refined metal and GaN epitaxy), the particular materials.
A lost material maps to the codes able to replace it: those naming the material itself, else those
covering its class. docs/registry.md shows the table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CapabilityCode:
    """One capability: a code, a name, what it covers, and the classes and materials it can make."""

    code: str
    name: str
    description: str
    material_classes: tuple[str, ...] = ()
    materials: tuple[str, ...] = ()

    @property
    def family(self) -> str:
        """The family part of the code (``MET`` of ``MET-FORGE``)."""
        return self.code.split("-", 1)[0]


FAMILIES: dict[str, str] = {
    "MIN": "Mining and primary production",
    "MAT": "Processed materials",
    "MET": "Metalworking",
    "SEM": "Semiconductors",
    "ELE": "Electronics",
    "OPT": "Optics and optronics",
    "ENR": "Energetics and munitions",
    "SYS": "Subsystems and integration",
}
"""The code families, by prefix."""

_C = CapabilityCode
CODES: tuple[CapabilityCode, ...] = (
    _C("MIN-REE", "Rare-earth mining and concentrate", "Rare-earth ore mined and concentrated (REO).",
       materials=("reo",)),
    _C("MIN-CRIT", "Critical-mineral mining and primary refining",
       "Mine or primary-refinery output of critical minerals: gallium, germanium, tungsten, antimony, graphite, "
       "cobalt, nickel, titanium sponge, rhenium, tantalum.",
       ("rhenium", "tantalum", "nickel"),
       ("gallium", "germanium", "tungsten_conc", "antimony", "graphite", "cobalt", "nickel", "ti_sponge", "rhenium",
        "tantalum")),
    _C("MAT-REOX", "Rare-earth separation", "Solvent-extraction separation of rare-earth oxides (Nd, Pr, Dy, Sm, Y).",
       materials=("re_oxide",)),
    _C("MAT-REMET", "Rare-earth metals and alloys", "Reduction of oxides to NdPr, Sm and Dy metals and alloys.",
       materials=("re_metal",)),
    _C("MAT-REMAG", "Rare-earth permanent magnets", "Sintered or bonded NdFeB and SmCo magnets.",
       ("magnet",), ("ndfeb_magnet", "smco_magnet")),
    _C("MAT-REFINE", "Refined critical metals", "High-purity refining: refined cobalt, 6N gallium, antimony "
       "trisulfide, tungsten APT and powder.",
       ("cobalt", "antimony"), ("cobalt_refined", "gallium_6n", "sb_trisulfide", "tungsten_apt")),
    _C("MAT-SUPALY", "Superalloy melting", "Vacuum induction and vacuum arc remelted nickel-base superalloys.",
       materials=("superalloy",)),
    _C("MAT-TI", "Titanium alloy mill products", "Titanium alloy melting and billet.", materials=("ti_billet",)),
    _C("MAT-WHA", "Tungsten heavy alloys", "Tungsten heavy alloy bar and penetrator blanks.",
       materials=("tungsten_alloy", "penetrator")),
    _C("MAT-CERAM", "Technical ceramics", "Thermal-barrier powders, piezo-ceramics, boron carbide and armour tiles.",
       ("ceramics", "superhard", "armour_ceramic"), ("tbc_powder", "hydrophone", "boron_carbide", "b4c_tile")),
    _C("MAT-COMP", "Fibres and composite structures", "Carbon and aramid fibre, composite tubes, liners and panels.",
       ("composites",), ("carbon_fiber", "aramid", "launch_tube", "spall_liner")),
    _C("MAT-ARMSTL", "Armour steel", "Armour steel plate and welded hulls.", ("armour_steel",),
       ("armour_steel", "afv_hull")),
    _C("MAT-GAS", "Industrial gases", "Liquid helium and other process gases.", ("industrial_gas",), ("helium",)),
    _C("MAT-ANODE", "Battery materials", "Graphite anode material.", materials=("li_anode",)),
    _C("MET-FORGE", "Forgings", "Closed-die and isothermal forging of discs, blades and structural parts.",
       materials=("rotor_disc", "compressor_blade")),
    _C("MET-CAST", "Investment castings", "Equiaxed, directionally solidified and single-crystal castings.",
       materials=("turbine_blade",)),
    _C("MET-MACH", "Precision machining", "Multi-axis machining of airframe and structural parts.",
       ("airframe",), ("su30_airframe_part",)),
    _C("MET-BEAR", "Bearings", "Aerospace and main-shaft bearings.", ("bearings",), ("bearing", "al31_bearing")),
    _C("SEM-GAN", "GaN and RF semiconductors", "GaN-on-SiC epitaxy, GaN MMICs and RF power die.",
       materials=("gan_epi", "gan_mmic")),
    _C("SEM-SIC", "SiC substrates", "Semi-insulating silicon-carbide substrates.", ("silicon_carbide",),
       ("sic_substrate",)),
    _C("SEM-FAB", "Wafer fabrication and packaging", "FPGA and ASIC wafer fabrication, packaging and test; "
       "IR focal-plane arrays.", ("microelectronics",), ("fpga_die", "fpga", "rad_hard_asic", "ir_fpa")),
    _C("ELE-PCB", "Printed circuit boards", "Multilayer and rigid-flex printed circuit boards.",
       materials=("pcb",)),
    _C("ELE-PASS", "Passive components", "Tantalum and ceramic capacitors, resistors, magnetics.",
       materials=("ta_capacitor",)),
    _C("ELE-ASSY", "Electronics assembly", "Board assembly and line-replaceable units: FADEC, processors, "
       "vetronics, radar and avionics LRUs, RF modules.", ("electronics", "rf_module"),
       ("fadec", "vetronics", "atgm_guidance", "sono_electronics", "p8_radar_lru", "p8_mission_computer",
        "n011m_lru", "su30_avionics_lru", "radar_processor", "tr_module")),
    _C("ELE-BATT", "Batteries", "Li-ion cells and military battery packs.", ("battery",),
       ("li_cell", "battery_pack")),
    _C("OPT-IR", "Infrared optics and optronics", "Germanium IR optics, thermal sights, seekers and launch units.",
       ("optronics",), ("ge_optic", "ir_sight", "atgm_seeker", "javelin_clu")),
    _C("ENR-PROP", "Propellants and explosives", "Nitrocellulose propellant, RDX/HMX, ammonium perchlorate, "
       "aluminium powder, primers, rocket motors and warheads.", ("energetics",),
       ("nitrocellulose", "rdx_hmx", "ammonium_perchlorate", "al_powder", "primer", "rocket_motor", "warhead")),
    _C("ENR-AMMO", "Ammunition loading and assembly", "Load, assemble and pack rounds.", ("ammunition",),
       ("apfsds_30mm",)),
    _C("SYS-PROP", "Propulsion modules and engines", "Engine modules, combustors and engine assembly.",
       ("propulsion",), ("hpt_module", "compressor_module", "combustor", "f414_engine", "al31_hot_section")),
    _C("SYS-ACT", "Actuation and hydraulics", "Electro-mechanical actuators, fuel metering and hydraulic units.",
       ("actuation",), ("fuel_actuator", "atgm_cas", "al31_accessory", "su30_hydraulics")),
    _C("SYS-AUTO", "Automotive power and running gear", "Power packs, transmissions and tyres.",
       ("automotive", "tyres"), ("power_pack", "transmission", "afv_tyre", "su30_tyre")),
    _C("SYS-INT", "System integration", "Final integration of vehicles, missiles, radars, weapons, sonobuoys "
       "and spares kits.", ("vehicle", "missile", "radar", "weapons", "sonobuoy", "spares")),
)  # fmt: skip
"""Every capability code, in table order."""

BY_CODE: dict[str, CapabilityCode] = {c.code: c for c in CODES}


def get_code(code: str) -> CapabilityCode:
    """The capability ``code`` (any case).

    Parameters
    ----------
    code
        A code such as ``MET-FORGE``.

    Returns
    -------
    CapabilityCode
        Its entry.

    Raises
    ------
    KeyError
        If the list has no such code (the message lists the families).
    """
    found = BY_CODE.get(code.strip().upper())
    if found is None:
        raise KeyError(f"unknown capability code {code!r}; codes are FAMILY-ITEM with families {', '.join(FAMILIES)}")
    return found


def codes_for(material: str, material_class: str = "") -> list[CapabilityCode]:
    """The codes able to make ``material``: those naming it, else those covering its class.

    Parameters
    ----------
    material
        A material as the network names it (``rotor_disc``); compared case-insensitively.
    material_class
        Its class (``superalloy``), used when no code names the material. A material that is itself
        a class name (``magnet``) matches that class too.

    Returns
    -------
    list of CapabilityCode
        In table order; empty when nothing in the list makes it.
    """
    wanted = material.strip().lower()
    named = [c for c in CODES if wanted in c.materials]
    if named:
        return named
    classes = {wanted, material_class.strip().lower()} - {""}
    return [c for c in CODES if classes.intersection(c.material_classes)]


def table_markdown() -> str:
    """The code list as a Markdown table (docs/registry.md carries it; a test keeps the two equal).

    Returns
    -------
    str
        One row per code: code, name, what it covers, classes, materials.
    """
    lines = ["| code | name | covers | material classes | materials |", "|---|---|---|---|---|"]
    for c in CODES:
        classes = ", ".join(c.material_classes) or "—"
        materials = ", ".join(c.materials) or "—"
        lines.append(f"| `{c.code}` | {c.name} | {c.description} | {classes} | {materials} |")
    return "\n".join(lines)
