"""The ILLUSTRATIVE India-US defense-industrial base as data tables: programs, materials, sites, routes.

Rows only; :mod:`setu.demo.network` builds the network from them. Nothing here is real program data:
firms, sites, capacities, inventories and recovery times are made up. Only the country shares of mine
production follow a public source (USGS Mineral Commodity Summaries 2025, see ``USGS_SHARES``). Time
unit everywhere: weeks (demand and capacity per week, inventory in units on hand, TTR in weeks). See
docs/demo-data.md.
"""

from __future__ import annotations

from dataclasses import dataclass

NETWORK_NAME = "India-US defense-industrial base (illustrative)"
TIME_UNIT = "week"

# -- programs -------------------------------------------------------------------------------------

ENG, AFV, ATGM, MPA, SU30, GAN = (
    "F414-engine",
    "Stryker-AFV",
    "Javelin-ATGM",
    "P-8I-sustainment",
    "Su-30MKI-spares",
    "GaN-radar-EW",
)
PROGRAMS: dict[str, str] = {
    ENG: "F414-class jet-engine co-production (HAL with GE Aerospace)",
    AFV: "Stryker-class armoured vehicle co-production and its 30 mm ammunition",
    ATGM: "Javelin-class anti-tank missile co-production (BDL with the US Javelin JV)",
    MPA: "P-8I-class maritime patrol aircraft sustainment: engine and avionics spares, sonobuoys",
    SU30: "Su-30MKI-class fighter spares from Russian OEMs and HAL's licensed lines",
    GAN: "GaN AESA radar and EW modules (BEL, RTX)",
}


# -- materials ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Material:
    """A family of items (not a part number) that several qualified sites can make interchangeably."""

    label: str
    material_class: str
    unit: str
    ttr: tuple[int, int]
    """Range of a site's time to recover, weeks; each node draws its own."""
    cover: tuple[float, float]
    """Range of stock on hand, in weeks of the site's own throughput."""
    bom: tuple[tuple[str, float], ...] = ()
    program: str = ""
    """Owning program; "" for the shared supply base (minerals, metals, chips, energetics)."""
    by_sea: bool = False
    """Shipped by sea, so the outbound route's straits matter; otherwise air or land."""
    raw: bool = False
    """Mine-level: traded on the world market, sized by country share, never restricted by buyer."""


_M = Material
# Raw materials: mine or primary-refinery level. Shares of the first seven come from USGS_SHARES.
_RAW: dict[str, Material] = {
    "reo": _M("rare-earth concentrate (REO)", "rare_earth", "kg", (26, 52), (2, 4), by_sea=True, raw=True),
    "gallium": _M("primary gallium", "gallium", "g", (26, 52), (2, 4), by_sea=True, raw=True),
    "germanium": _M("refined germanium", "germanium", "kg", (26, 52), (2, 4), by_sea=True, raw=True),
    "tungsten_conc": _M("tungsten concentrate (W)", "tungsten", "kg", (26, 52), (2, 4), by_sea=True, raw=True),
    "antimony": _M("antimony (mine)", "antimony", "kg", (26, 52), (2, 4), by_sea=True, raw=True),
    "graphite": _M("natural flake graphite", "graphite", "kg", (26, 52), (2, 4), by_sea=True, raw=True),
    "cobalt": _M("cobalt (mine)", "cobalt", "kg", (26, 52), (2, 4), by_sea=True, raw=True),
    "nickel": _M("refined nickel", "nickel", "kg", (26, 52), (2, 4), by_sea=True, raw=True),
    "ti_sponge": _M("titanium sponge", "titanium", "kg", (26, 52), (2, 4), by_sea=True, raw=True),
    "rhenium": _M("rhenium", "rhenium", "kg", (26, 52), (2, 4), by_sea=True, raw=True),
    "tantalum": _M("tantalum concentrate (Ta)", "tantalum", "kg", (26, 52), (2, 4), by_sea=True, raw=True),
}
# fmt: off
# (the tables below keep one row per item: easier to read than the formatter's one-field-per-line)
# Processed materials and parts shared by several programs.
_SHARED: dict[str, Material] = {
    "re_oxide": _M("separated rare-earth oxides (Nd, Pr, Dy, Sm, Y)", "rare_earth", "kg", (26, 52), (3, 6),
                   (("reo", 1.2),), by_sea=True),
    "re_metal": _M("rare-earth metals and alloys (NdPr, Sm, Dy)", "rare_earth", "kg", (26, 52), (3, 6),
                   (("re_oxide", 1.17),), by_sea=True),
    "ndfeb_magnet": _M("NdFeB magnets", "magnet", "kg", (26, 39), (3, 6), (("re_metal", 0.32),), by_sea=True),
    "smco_magnet": _M("SmCo magnets", "magnet", "kg", (26, 39), (3, 6),
                      (("re_metal", 0.35), ("cobalt_refined", 0.5)), by_sea=True),
    "cobalt_refined": _M("refined cobalt", "cobalt", "kg", (26, 52), (3, 6), (("cobalt", 1.02),), by_sea=True),
    "superalloy": _M("nickel-base superalloy (VIM/VAR)", "superalloy", "kg", (26, 52), (3, 6),
                     (("nickel", 0.55), ("cobalt_refined", 0.12)), by_sea=True),
    "ti_billet": _M("titanium alloy billet", "titanium", "kg", (26, 52), (3, 6), (("ti_sponge", 1.15),), by_sea=True),
    "tungsten_apt": _M("APT and tungsten powder", "tungsten", "kg", (26, 52), (3, 6),
                       (("tungsten_conc", 1.05),), by_sea=True),
    "tungsten_alloy": _M("tungsten heavy alloy bar", "tungsten", "kg", (26, 39), (3, 6),
                         (("tungsten_apt", 0.93), ("nickel", 0.05)), by_sea=True),
    "sb_trisulfide": _M("antimony trisulfide", "antimony", "kg", (26, 52), (3, 6), (("antimony", 0.75),), by_sea=True),
    "primer": _M("primers and igniters", "energetics", "ea", (39, 78), (4, 8), (("sb_trisulfide", 0.0002),)),
    "nitrocellulose": _M("nitrocellulose propellant", "energetics", "kg", (52, 104), (4, 8)),
    "rdx_hmx": _M("RDX/HMX high explosive", "energetics", "kg", (52, 104), (4, 8)),
    "ammonium_perchlorate": _M("ammonium perchlorate", "energetics", "kg", (52, 104), (4, 8)),
    "al_powder": _M("spherical aluminium powder", "energetics", "kg", (26, 52), (4, 8)),
    "helium": _M("liquid helium", "industrial_gas", "m3", (13, 39), (2, 4), by_sea=True),
    "gallium_6n": _M("6N high-purity gallium", "gallium", "g", (26, 52), (3, 6), (("gallium", 1.05),)),
    "sic_substrate": _M("semi-insulating SiC substrate", "silicon_carbide", "wafer", (26, 52), (4, 8)),
    "ge_optic": _M("germanium IR optics", "germanium", "kg", (26, 39), (3, 6), (("germanium", 0.6),)),
    "fpga_die": _M("FPGA wafer-fab die", "microelectronics", "ea", (39, 65), (3, 8), (("helium", 0.02),)),
    "fpga": _M("packaged and tested FPGA", "microelectronics", "ea", (13, 26), (3, 6), (("fpga_die", 1.0),)),
    "rad_hard_asic": _M("rad-hard ASIC / ROIC", "microelectronics", "ea", (39, 65), (3, 8), (("helium", 0.05),)),
    "pcb": _M("multilayer printed circuit board", "electronics", "ea", (13, 26), (3, 6)),
    "ta_capacitor": _M("tantalum capacitor", "electronics", "ea", (26, 39), (4, 8), (("tantalum", 0.0005),)),
    "ir_fpa": _M("IR focal-plane array", "microelectronics", "ea", (26, 39), (3, 6),
                 (("rad_hard_asic", 1.0), ("ge_optic", 0.1))),
    "li_anode": _M("graphite anode material", "graphite", "kg", (26, 39), (3, 6), (("graphite", 1.1),), by_sea=True),
    "li_cell": _M("Li-ion cell", "battery", "ea", (26, 39), (3, 6), (("li_anode", 0.03),), by_sea=True),
    "battery_pack": _M("military battery pack", "battery", "ea", (13, 26), (3, 6), (("li_cell", 10.0),)),
    "armour_steel": _M("armour steel plate", "armour_steel", "t", (26, 52), (3, 6), (("nickel", 20.0),), by_sea=True),
    "carbon_fiber": _M("carbon fibre", "composites", "kg", (26, 52), (4, 8), by_sea=True),
    "aramid": _M("aramid fibre", "composites", "kg", (26, 52), (4, 8), by_sea=True),
    "bearing": _M("aerospace bearings", "bearings", "ea", (13, 26), (3, 6)),
    "tbc_powder": _M("yttria-stabilised zirconia TBC powder", "ceramics", "kg", (13, 26), (3, 6),
                     (("re_oxide", 0.08),)),
    "turbine_blade": _M("single-crystal turbine blade", "superalloy", "ea", (26, 52), (2, 5),
                        (("superalloy", 4.0), ("rhenium", 0.12))),
    "boron_carbide": _M("boron carbide powder", "superhard", "kg", (26, 52), (3, 6), by_sea=True),
    "rotor_disc": _M("forged superalloy rotor disc", "superalloy", "ea", (70, 90), (2, 5), (("superalloy", 350.0),)),
    "compressor_blade": _M("forged titanium compressor blade", "titanium", "ea", (39, 65), (2, 5),
                           (("ti_billet", 6.0),)),
}
# Program parts and products.
_PROGRAM: dict[str, Material] = {
    # F414-class engine
    "hpt_module": _M("HP turbine module", "propulsion", "ea", (13, 26), (1, 3),
                     (("turbine_blade", 80.0), ("rotor_disc", 2.0), ("tbc_powder", 3.0), ("bearing", 2.0)), ENG),
    "compressor_module": _M("HP compressor module", "propulsion", "ea", (13, 26), (1, 3),
                            (("compressor_blade", 160.0), ("rotor_disc", 3.0), ("bearing", 3.0)), ENG),
    "combustor": _M("annular combustor", "propulsion", "ea", (26, 39), (1, 3),
                    (("superalloy", 80.0), ("tbc_powder", 2.0)), ENG),
    "fadec": _M("FADEC unit", "electronics", "ea", (13, 26), (2, 4),
                (("fpga", 4.0), ("rad_hard_asic", 2.0), ("pcb", 6.0), ("ta_capacitor", 40.0)), ENG),
    "fuel_actuator": _M("fuel metering unit and EM actuators", "actuation", "ea", (13, 26), (2, 4),
                        (("smco_magnet", 0.5), ("fpga", 1.0)), ENG),
    "f414_engine": _M("F414-class turbofan", "propulsion", "ea", (8, 16), (1, 3),
                      (("hpt_module", 1.0), ("compressor_module", 1.0), ("combustor", 1.0), ("fadec", 1.0),
                       ("fuel_actuator", 2.0), ("bearing", 4.0)), ENG),
    # Stryker-class vehicle and its ammunition
    "afv_hull": _M("welded armour hull", "armour_steel", "ea", (13, 26), (1, 3), (("armour_steel", 9.0),), AFV),
    "spall_liner": _M("aramid spall liner kit", "composites", "ea", (13, 26), (2, 4), (("aramid", 150.0),), AFV),
    "power_pack": _M("diesel power pack", "automotive", "ea", (13, 26), (2, 4), (("fpga", 2.0), ("bearing", 4.0)),
                     AFV, by_sea=True),
    "transmission": _M("automatic transmission", "automotive", "ea", (26, 39), (2, 4), (), AFV, by_sea=True),
    "ir_sight": _M("thermal sight", "optronics", "ea", (13, 26), (2, 4),
                   (("ir_fpa", 1.0), ("ge_optic", 1.2), ("fpga", 1.0)), AFV),
    "rws": _M("remote weapon station", "weapons", "ea", (13, 26), (2, 4),
              (("ir_sight", 1.0), ("ndfeb_magnet", 3.0), ("fpga", 2.0)), AFV),
    "vetronics": _M("vetronics suite", "electronics", "ea", (13, 26), (2, 4),
                    (("fpga", 6.0), ("rad_hard_asic", 2.0), ("pcb", 10.0), ("ta_capacitor", 60.0)), AFV),
    "b4c_tile": _M("boron carbide armour tile", "armour_ceramic", "ea", (13, 26), (2, 4), (("boron_carbide", 2.5),),
                   AFV),
    "afv_tyre": _M("run-flat tyre", "tyres", "ea", (8, 13), (3, 6), (), AFV, by_sea=True),
    "stryker_vehicle": _M("Stryker-class 8x8 vehicle", "vehicle", "ea", (8, 16), (1, 2),
                          (("afv_hull", 1.0), ("spall_liner", 1.0), ("b4c_tile", 60.0), ("power_pack", 1.0),
                           ("transmission", 1.0), ("afv_tyre", 8.0), ("rws", 1.0), ("vetronics", 1.0)), AFV),
    "penetrator": _M("tungsten APFSDS penetrator", "tungsten", "ea", (26, 39), (3, 6), (("tungsten_alloy", 0.35),),
                     AFV),
    "apfsds_30mm": _M("30 mm APFSDS round", "ammunition", "ea", (13, 26), (2, 4),
                      (("penetrator", 1.0), ("primer", 1.0), ("nitrocellulose", 0.15)), AFV),
    # Javelin-class missile
    "atgm_seeker": _M("imaging-IR seeker", "optronics", "ea", (26, 39), (2, 4),
                      (("ir_fpa", 1.0), ("ge_optic", 0.5), ("smco_magnet", 0.1), ("fpga", 2.0)), ATGM),
    "atgm_cas": _M("control actuation section", "actuation", "ea", (13, 26), (2, 4),
                   (("ndfeb_magnet", 0.2), ("rad_hard_asic", 1.0)), ATGM),
    "atgm_guidance": _M("guidance electronics", "electronics", "ea", (13, 26), (2, 4),
                        (("fpga", 3.0), ("rad_hard_asic", 2.0), ("pcb", 3.0), ("ta_capacitor", 20.0)), ATGM),
    "rocket_motor": _M("launch/flight motor", "energetics", "ea", (39, 78), (2, 5),
                       (("ammonium_perchlorate", 1.5), ("al_powder", 0.3), ("nitrocellulose", 0.8), ("primer", 1.0)),
                       ATGM),
    "warhead": _M("tandem HEAT warhead", "energetics", "ea", (39, 78), (2, 5), (("rdx_hmx", 2.5), ("primer", 1.0)),
                  ATGM),
    "launch_tube": _M("composite launch tube", "composites", "ea", (13, 26), (2, 4), (("carbon_fiber", 4.0),), ATGM),
    "javelin_round": _M("Javelin-class round", "missile", "ea", (8, 16), (1, 3),
                        (("atgm_seeker", 1.0), ("atgm_cas", 1.0), ("atgm_guidance", 1.0), ("rocket_motor", 2.0),
                         ("warhead", 1.0), ("launch_tube", 1.0), ("battery_pack", 1.0)), ATGM),
    "javelin_clu": _M("command launch unit", "optronics", "ea", (8, 16), (1, 3),
                      (("ir_fpa", 1.0), ("ge_optic", 2.0), ("fpga", 4.0), ("battery_pack", 1.0)), ATGM),
    # P-8I-class sustainment
    "sono_electronics": _M("sonobuoy electronics", "electronics", "ea", (13, 26), (2, 4),
                           (("fpga", 1.0), ("pcb", 1.0), ("ta_capacitor", 4.0)), MPA),
    "hydrophone": _M("piezo-ceramic hydrophone", "ceramics", "ea", (13, 26), (2, 4), (), MPA),
    "sonobuoy": _M("A-size sonobuoy", "sonobuoy", "ea", (8, 16), (1, 3),
                   (("battery_pack", 1.0), ("sono_electronics", 1.0), ("hydrophone", 1.0)), MPA),
    "p8_radar_lru": _M("search-radar LRU", "electronics", "ea", (26, 39), (3, 6),
                       (("fpga", 4.0), ("rad_hard_asic", 2.0), ("pcb", 6.0), ("ta_capacitor", 40.0)), MPA),
    "p8_mission_computer": _M("mission computer", "electronics", "ea", (13, 26), (3, 6),
                              (("fpga", 6.0), ("rad_hard_asic", 2.0), ("pcb", 8.0), ("ta_capacitor", 50.0)), MPA),
    "p8i_engine_spares": _M("CFM56-class hot-section spares kit", "spares", "kit", (8, 16), (6, 12),
                            (("turbine_blade", 40.0), ("rotor_disc", 1.0), ("tbc_powder", 2.0), ("bearing", 4.0)), MPA),
    "p8i_avionics_spares": _M("mission-avionics spares kit", "spares", "kit", (8, 16), (6, 12),
                              (("p8_radar_lru", 1.0), ("p8_mission_computer", 1.0)), MPA),
    # Su-30MKI-class spares: Russian OEM nodes are opaque (their sub-tiers are not mapped).
    "al31_hot_section": _M("AL-31FP-class hot-section set", "propulsion", "set", (26, 52), (4, 8),
                           (("superalloy", 60.0), ("tbc_powder", 1.0)), SU30, by_sea=True),
    "al31_accessory": _M("AL-31FP-class fuel and oil accessories", "actuation", "set", (26, 52), (4, 8),
                         (("fpga", 1.0), ("smco_magnet", 0.2)), SU30, by_sea=True),
    "al31_bearing": _M("AL-31FP-class main-shaft bearings", "bearings", "set", (26, 52), (4, 8), (), SU30, by_sea=True),
    "n011m_lru": _M("N011M-class radar LRU", "electronics", "ea", (26, 52), (4, 8), (), SU30, by_sea=True),
    "su30_avionics_lru": _M("Su-30-class avionics LRU", "electronics", "ea", (26, 52), (4, 8),
                            (("fpga", 2.0), ("rad_hard_asic", 1.0), ("pcb", 4.0), ("ta_capacitor", 30.0)), SU30,
                            by_sea=True),
    "su30_airframe_part": _M("Su-30-class airframe part", "airframe", "ea", (26, 52), (4, 8), (("ti_billet", 8.0),),
                             SU30, by_sea=True),
    "su30_hydraulics": _M("Su-30-class hydraulic unit", "actuation", "ea", (26, 52), (4, 8), (), SU30, by_sea=True),
    "su30_tyre": _M("Su-30-class main-wheel tyre", "tyres", "ea", (8, 13), (4, 8), (), SU30),
    "al31_overhaul_kit": _M("AL-31FP-class overhaul kit", "spares", "kit", (8, 16), (6, 12),
                            (("al31_hot_section", 1.0), ("al31_accessory", 1.0), ("al31_bearing", 1.0)), SU30),
    "su30_spares_kit": _M("Su-30-class airframe and avionics spares kit", "spares", "kit", (8, 16), (6, 12),
                          (("n011m_lru", 1.0), ("su30_avionics_lru", 1.0), ("su30_airframe_part", 4.0),
                           ("su30_hydraulics", 1.0), ("su30_tyre", 2.0)), SU30),
    # GaN radar and EW
    "gan_epi": _M("GaN-on-SiC epitaxial wafer", "gallium", "wafer", (26, 52), (3, 6),
                  (("gallium_6n", 2.0), ("sic_substrate", 1.0)), GAN),
    "gan_mmic": _M("GaN MMIC die", "microelectronics", "ea", (39, 65), (3, 6), (("gan_epi", 0.004), ("helium", 0.01)),
                   GAN),
    "tr_module": _M("GaN T/R module", "rf_module", "ea", (13, 26), (2, 4), (("gan_mmic", 3.0),), GAN),
    "radar_processor": _M("radar signal processor", "electronics", "ea", (13, 26), (2, 4),
                          (("fpga", 16.0), ("rad_hard_asic", 4.0), ("pcb", 12.0), ("ta_capacitor", 120.0)), GAN),
    "aesa_radar": _M("fighter AESA radar", "radar", "ea", (8, 16), (1, 3),
                     (("tr_module", 800.0), ("radar_processor", 1.0), ("carbon_fiber", 25.0)), GAN),
    "ew_suite": _M("airborne EW jammer suite", "radar", "ea", (8, 16), (1, 3),
                   (("tr_module", 96.0), ("radar_processor", 1.0)), GAN),
    "gan_ground_radar": _M("GaN air-defence radar array", "radar", "ea", (8, 16), (1, 3),
                           (("tr_module", 2000.0), ("radar_processor", 2.0), ("carbon_fiber", 60.0)), GAN),
}
# fmt: on
MATERIALS: dict[str, Material] = {**_RAW, **_SHARED, **_PROGRAM}


# -- where the minerals come from -----------------------------------------------------------------

USGS_SHARES: dict[str, dict[str, float]] = {
    # Percent of world mine production, 2024 estimates, USGS Mineral Commodity Summaries 2025
    # (germanium: refinery production, ~2022). Only the producers named in the source are listed.
    "reo": {"CN": 69.2, "US": 11.5, "MM": 7.9, "AU": 3.3, "NG": 3.3, "TH": 3.3, "IN": 0.7},  # 390 kt REO
    "gallium": {"CN": 99.0},  # primary gallium, 760 t
    "germanium": {"CN": 86.0},  # ~210 t (2022)
    "tungsten_conc": {"CN": 83.0},  # 81 kt
    "antimony": {"CN": 60.0, "TJ": 17.0, "RU": 13.0},  # 100 kt
    "graphite": {"CN": 79.0},  # natural graphite, 1.6 Mt
    "cobalt": {"CD": 76.0, "ID": 10.0},  # 290 kt
}
RESIDUAL_SHARES: dict[str, dict[str, float]] = {
    # Setu's ILLUSTRATIVE split of the rest of world production among other named producers
    # (not USGS figures), so that each material's shares add up to 100.
    "reo": {"RU": 0.8},
    "gallium": {"RU": 0.5, "JP": 0.3, "KR": 0.2},
    "germanium": {"CA": 7.0, "RU": 4.0, "BE": 3.0},
    "tungsten_conc": {"VN": 5.0, "RU": 3.0, "BO": 3.0, "RW": 2.0, "AT": 1.5, "ES": 1.5, "PT": 1.0},
    "antimony": {"BO": 3.0, "TR": 2.5, "MM": 2.5, "AU": 2.0},
    "graphite": {"MG": 6.0, "MZ": 5.0, "BR": 5.0, "IN": 3.0, "CA": 2.0},
    "cobalt": {"RU": 3.5, "AU": 2.5, "PH": 3.0, "CA": 2.5, "CU": 2.5},
}
SOURCES: dict[str, str] = {
    "usgs": "U.S. Geological Survey, Mineral Commodity Summaries 2025 (January 2025), 2024 estimates",
    "sipri": "SIPRI, Trends in International Arms Transfers, 2024 (March 2025)",
}

# Mine and primary-refinery sites per material and country: (site code, place). A country's share
# is split evenly over its sites, so a big producer is several nodes and one mine going down is not
# the whole country going down.
MINE_SITES: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "reo": {
        "CN": (
            ("BAO", "Baotou, Inner Mongolia"),
            ("GZH", "Ganzhou, Jiangxi"),
            ("LSH", "Liangshan, Sichuan"),
            ("LYN", "Longnan, Jiangxi"),
            ("WSN", "Weishan, Shandong"),
            ("CZO", "Chongzuo, Guangxi"),
        ),
        "US": (("MTP", "Mountain Pass, California"),),
        "MM": (("PAN", "Pangwa, Kachin"), ("CHP", "Chipwi, Kachin")),
        "AU": (("MTW", "Mount Weld, Western Australia"),),
        "NG": (("JOS", "Jos Plateau"),),
        "TH": (("PHN", "Phang Nga"),),
        "IN": (("CHV", "Chavara, Kerala"),),
        "RU": (("LOV", "Lovozero, Murmansk"),),
    },
    "gallium": {
        "CN": (
            ("SDG", "Zibo, Shandong"),
            ("HEN", "Zhengzhou, Henan"),
            ("GXI", "Pingguo, Guangxi"),
            ("SHX", "Hejin, Shanxi"),
            ("IMG", "Ordos, Inner Mongolia"),
        ),
        "RU": (("ACH", "Achinsk, Krasnoyarsk"),),
        "JP": (("AKT", "Akita"),),
        "KR": (("ONS", "Onsan, Ulsan"),),
    },
    "germanium": {
        "CN": (
            ("LIN", "Lincang, Yunnan"),
            ("XLH", "Xilinhot, Inner Mongolia"),
            ("HZE", "Huize, Yunnan"),
            ("LPS", "Liupanshui, Guizhou"),
        ),
        "CA": (("TRL", "Trail, British Columbia"),),
        "RU": (("NSB", "Novosibirsk"),),
        "BE": (("OLN", "Olen"),),
    },
    "tungsten_conc": {
        "CN": (
            ("DYU", "Dayu, Jiangxi"),
            ("SZY", "Shizhuyuan, Hunan"),
            ("LCH", "Luanchuan, Henan"),
            ("XHS", "Xihuashan, Jiangxi"),
            ("CZH", "Chenzhou, Hunan"),
        ),
        "VN": (("NPH", "Nui Phao, Thai Nguyen"),),
        "RU": (("VST", "Vostok-2, Primorye"),),
        "BO": (("CHJ", "Chojlla, La Paz"),),
        "RW": (("NYK", "Nyakabingo"),),
        "AT": (("MTS", "Mittersill, Salzburg"),),
        "ES": (("BRP", "Barruecopardo, Salamanca"),),
        "PT": (("PNS", "Panasqueira"),),
    },
    "antimony": {
        "CN": (
            ("LSJ", "Lengshuijiang, Hunan"),
            ("HCH", "Hechi, Guangxi"),
            ("DSN", "Dushan, Guizhou"),
            ("XKS", "Xikuangshan, Hunan"),
        ),
        "TJ": (("ANZ", "Anzob, Sughd"), ("KNC", "Konchoch, Sughd")),
        "RU": (("SRL", "Sarylakh, Yakutia"),),
        "BO": (("PTS", "Potosí"),),
        "TR": (("USK", "Uşak"),),
        "MM": (("SHN", "Shan State"),),
        "AU": (("CST", "Costerfield, Victoria"),),
    },
    "graphite": {
        "CN": (
            ("JIX", "Jixi, Heilongjiang"),
            ("LUB", "Luobei, Heilongjiang"),
            ("XNG", "Xinghe, Inner Mongolia"),
            ("PDU", "Pingdu, Shandong"),
        ),
        "MG": (("MLD", "Molo, Toliara"),),
        "MZ": (("BLM", "Balama, Cabo Delgado"),),
        "BR": (("PDG", "Pedra Azul, Minas Gerais"),),
        "IN": (("PLM", "Palamu, Jharkhand"),),
        "CA": (("LAC", "Lac-des-Îles, Quebec"),),
    },
    "cobalt": {
        "CD": (
            ("KZI", "Kolwezi, Lualaba"),
            ("KMT", "Kamoto, Lualaba"),
            ("TFM", "Tenke Fungurume, Lualaba"),
            ("MUT", "Mutanda, Lualaba"),
            ("LKS", "Likasi, Haut-Katanga"),
        ),
        "ID": (("MOR", "Morowali, Sulawesi"),),
        "RU": (("NRL", "Norilsk, Krasnoyarsk"),),
        "AU": (("MKP", "Murrin Murrin, Western Australia"),),
        "PH": (("CRB", "Coral Bay, Palawan"),),
        "CA": (("SUD", "Sudbury, Ontario"),),
        "CU": (("MOA", "Moa, Holguín"),),
    },
}
MINE_CODE: dict[str, str] = {
    "reo": "REO",
    "gallium": "GA",
    "germanium": "GE",
    "tungsten_conc": "WCON",
    "antimony": "SB",
    "graphite": "GRAPH",
    "cobalt": "CO",
}

# -- named sites: (node id, organization, place, relative weight among the material's suppliers) ----
# Node ids read COUNTRY-ORG-PLACE-ITEM; the first three parts name the site. Real firm names are used
# for realism only: every number attached to them is made up.

SupplierRow = tuple[str, str, str, float]
SUPPLIERS: dict[str, tuple[SupplierRow, ...]] = {
    "nickel": (
        ("ID-IMP-MOR-NI", "Morowali nickel smelters (illustrative)", "Morowali, Sulawesi", 30),
        ("ID-WED-HAL-NI", "Weda Bay nickel smelters (illustrative)", "Halmahera", 25),
        ("PH-NIC-SUR-NI", "Philippine nickel producers (illustrative)", "Surigao", 8),
        ("RU-NOR-NRL-NI", "Nornickel", "Norilsk, Krasnoyarsk", 6),
        ("CA-VAL-SUD-NI", "Vale Base Metals", "Sudbury, Ontario", 5),
        ("AU-BHP-KWN-NI", "BHP Nickel West", "Kwinana, Western Australia", 3),
        ("NC-SLN-DNB-NI", "Société Le Nickel", "Doniambo, Nouméa", 2),
    ),
    "rhenium": (
        ("CL-MLY-SBN-RE", "Molymet", "San Bernardo, Santiago", 4),
        ("PL-KGH-LEG-RE", "KGHM Polska Miedź", "Legnica", 1.5),
        ("US-FCX-SIE-RE", "Arizona rhenium recovery (illustrative)", "Sahuarita, Arizona", 1),
        ("KZ-KZM-BLK-RE", "Balkhash rhenium recovery (illustrative)", "Balkhash", 0.5),
    ),
    "tantalum": (
        ("CD-TAN-MSS-TA", "North Kivu coltan producers (illustrative)", "Masisi, North Kivu", 4),
        ("RW-TAN-GTB-TA", "Rwandan coltan producers (illustrative)", "Gatumba", 2),
        ("BR-MTB-PIT-TA", "Mineração Taboca", "Pitinga, Amazonas", 1.5),
        ("NG-TAN-JOS-TA", "Nigerian tantalite producers (illustrative)", "Jos Plateau", 1.5),
        ("AU-WOD-WOD-TA", "Wodgina tantalum (illustrative)", "Wodgina, Western Australia", 0.5),
    ),
    "helium": (
        ("QA-QEN-RLF-HE", "QatarEnergy LNG", "Ras Laffan", 4),
        ("US-HEL-LIB-HE", "Kansas helium producers (illustrative)", "Liberal, Kansas", 3),
        ("US-XOM-LBG-HE", "ExxonMobil", "LaBarge, Wyoming", 2),
        ("DZ-HLS-SKI-HE", "Helison", "Skikda", 1),
        ("RU-GZP-SVB-HE", "Gazprom Amur gas processing plant", "Svobodny, Amur", 1.5),
    ),
    "ti_sponge": (
        ("CN-PAN-PZH-TISP", "Panzhihua titanium producers (illustrative)", "Panzhihua, Sichuan", 3),
        ("CN-CHA-CHY-TISP", "Chaoyang titanium producers (illustrative)", "Chaoyang, Liaoning", 2),
        ("JP-OTC-AMA-TISP", "OSAKA Titanium", "Amagasaki", 1.5),
        ("JP-THT-CHG-TISP", "Toho Titanium", "Chigasaki", 1),
        ("KZ-UKT-UKA-TISP", "UKTMP", "Ust-Kamenogorsk", 1),
        ("RU-AVS-BRZ-TISP", "VSMPO-AVISMA", "Berezniki, Perm", 1.5),
        ("IN-KML-CHV-TISP", "Kerala Minerals and Metals", "Chavara, Kerala", 0.3),
    ),
    "re_oxide": (
        ("CN-NRE-BAO-REOX", "China Northern Rare Earth", "Baotou, Inner Mongolia", 5),
        ("CN-CRE-GZH-REOX", "China Rare Earth Group", "Ganzhou, Jiangxi", 5),
        ("CN-SRE-LSH-REOX", "Sichuan rare-earth separators (illustrative)", "Leshan, Sichuan", 4),
        ("CN-GRE-MZH-REOX", "Guangdong rare-earth separators (illustrative)", "Meizhou, Guangdong", 3),
        ("MY-LYN-KUA-REOX", "Lynas Rare Earths", "Kuantan, Pahang", 2),
        ("US-MPM-MTP-REOX", "MP Materials", "Mountain Pass, California", 1),
        ("EE-NEO-SIL-REOX", "Neo Performance Materials", "Sillamäe", 0.5),
        ("IN-IRE-OSC-REOX", "IREL (India)", "Chatrapur, Odisha", 0.5),
    ),
    "re_metal": (
        ("CN-NRE-BAO-REM", "China Northern Rare Earth", "Baotou, Inner Mongolia", 5),
        ("CN-CRE-GZH-REM", "China Rare Earth Group", "Ganzhou, Jiangxi", 4),
        ("CN-SRE-LSH-REM", "Sichuan rare-earth separators (illustrative)", "Leshan, Sichuan", 3),
        ("VN-VTR-HNI-REM", "Vietnamese rare-earth metal makers (illustrative)", "Hanoi", 1),
        ("JP-SHE-TKF-REM", "Shin-Etsu Chemical", "Takefu, Fukui", 1),
        ("GB-LCM-ELP-REM", "Less Common Metals", "Ellesmere Port", 0.5),
        ("US-MPM-FTW-REM", "MP Materials", "Fort Worth, Texas", 0.3),
    ),
    "ndfeb_magnet": (
        ("CN-NMG-NBO-NDFEB", "Ningbo magnet makers (illustrative)", "Ningbo, Zhejiang", 5),
        ("CN-BTM-BAO-NDFEB", "Baotou magnet makers (illustrative)", "Baotou, Inner Mongolia", 5),
        ("CN-GZM-GZH-NDFEB", "Ganzhou magnet makers (illustrative)", "Ganzhou, Jiangxi", 4),
        ("CN-TJM-TJN-NDFEB", "Tianjin magnet makers (illustrative)", "Tianjin", 4),
        ("JP-SHE-TKF-NDFEB", "Shin-Etsu Chemical", "Takefu, Fukui", 2),
        ("JP-PRO-KMG-NDFEB", "Proterial", "Kumagaya, Saitama", 1),
        ("DE-VAC-HAN-NDFEB", "Vacuumschmelze", "Hanau", 1),
        ("US-VAC-SUM-NDFEB", "e-VAC Magnetics", "Sumter, South Carolina", 0.7),
        ("US-MPM-FTW-NDFEB", "MP Materials", "Fort Worth, Texas", 0.5),
    ),
    "smco_magnet": (
        ("US-ARN-MRG-SMCO", "Arnold Magnetic Technologies", "Marengo, Illinois", 2),
        ("US-EEC-LND-SMCO", "Electron Energy Corporation", "Landisville, Pennsylvania", 1),
        ("CN-SMM-HZH-SMCO", "Hangzhou SmCo makers (illustrative)", "Hangzhou, Zhejiang", 3),
        ("CN-SMB-BJG-SMCO", "Beijing SmCo makers (illustrative)", "Beijing", 2),
        ("IN-IRE-VSK-SMCO", "IREL (India) REPM plant", "Visakhapatnam", 0.5),
    ),
    "cobalt_refined": (
        ("CN-HYC-TXG-COR", "Zhejiang cobalt refiners (illustrative)", "Tongxiang, Zhejiang", 3),
        ("CN-GEM-JMN-COR", "Hubei cobalt refiners (illustrative)", "Jingmen, Hubei", 3),
        ("CN-JCH-JCH-COR", "Gansu cobalt refiners (illustrative)", "Jinchang, Gansu", 2),
        ("FI-UMI-KOK-COR", "Umicore", "Kokkola", 1),
        ("CA-SHR-FTS-COR", "Sherritt", "Fort Saskatchewan, Alberta", 0.5),
        ("JP-SMM-NIH-COR", "Sumitomo Metal Mining", "Niihama, Ehime", 0.5),
        ("NO-GLN-KRS-COR", "Glencore Nikkelverk", "Kristiansand", 0.5),
    ),
    "superalloy": (
        ("US-ATI-MNR-SUP", "ATI", "Monroe, North Carolina", 2),
        ("US-CRP-RDG-SUP", "Carpenter Technology", "Reading, Pennsylvania", 2),
        ("US-HAY-KOK-SUP", "Haynes International", "Kokomo, Indiana", 1),
        ("IN-MDN-HYD-SUP", "Mishra Dhatu Nigam (MIDHANI)", "Hyderabad", 1),
        ("DE-VDM-UNN-SUP", "VDM Metals", "Unna", 1),
    ),
    "ti_billet": (
        ("US-TIM-MRG-TIB", "TIMET", "Morgantown, Pennsylvania", 2),
        ("US-ATI-ALB-TIB", "ATI", "Albany, Oregon", 2),
        ("IN-MDN-HYD-TIB", "Mishra Dhatu Nigam (MIDHANI)", "Hyderabad", 1),
        ("RU-VSM-VSA-TIB", "VSMPO-AVISMA", "Verkhnyaya Salda, Sverdlovsk", 2),
    ),
    "tungsten_apt": (
        ("CN-XWC-XMN-APT", "Xiamen tungsten processors (illustrative)", "Xiamen, Fujian", 3),
        ("CN-CMC-GZH-APT", "Ganzhou tungsten processors (illustrative)", "Ganzhou, Jiangxi", 3),
        ("CN-ZZC-ZZH-APT", "Zhuzhou tungsten processors (illustrative)", "Zhuzhou, Hunan", 2),
        ("VN-MHT-THN-APT", "Masan High-Tech Materials", "Thai Nguyen", 1),
        ("AT-WBG-STM-APT", "Wolfram Bergbau und Hütten", "St. Martin im Sulmtal", 1),
        ("US-GTP-TOW-APT", "Global Tungsten & Powders", "Towanda, Pennsylvania", 1),
        ("DE-HCS-GOS-APT", "H.C. Starck Tungsten", "Goslar", 1),
    ),
    "tungsten_alloy": (
        ("IN-MDN-HYD-WHA", "Mishra Dhatu Nigam (MIDHANI)", "Hyderabad", 1),
        ("US-MTM-IND-WHA", "Mi-Tech Metals", "Indianapolis, Indiana", 1),
        ("AT-PLS-REU-WHA", "Plansee", "Reutte", 1),
    ),
    "sb_trisulfide": (
        ("CN-HSB-LSJ-SBS", "Hunan antimony smelters (illustrative)", "Lengshuijiang, Hunan", 3),
        ("CN-GSB-HCH-SBS", "Guangxi antimony smelters (illustrative)", "Hechi, Guangxi", 2),
        ("US-USA-TFL-SBS", "United States Antimony", "Thompson Falls, Montana", 1),
        ("BE-CMP-BRS-SBS", "Campine", "Beerse", 1),
    ),
    "primer": (
        ("US-OLN-LCY-PRM", "Olin Winchester (Lake City AAP)", "Independence, Missouri", 3),
        ("IN-MIL-KRK-PRM", "Munitions India", "Khadki, Pune", 1),
        ("IN-MIL-KHM-PRM", "Munitions India", "Khamaria, Jabalpur", 1),
    ),
    "nitrocellulose": (
        ("US-BAE-RAD-NC", "BAE Systems (Radford AAP)", "Radford, Virginia", 3),
        ("IN-MIL-BHD-NC", "Munitions India", "Bhandara, Maharashtra", 1),
        ("DE-NCH-ASC-NC", "Nitrochemie", "Aschau am Inn", 1),
    ),
    "rdx_hmx": (
        ("US-BAE-HOL-RDX", "BAE Systems (Holston AAP)", "Kingsport, Tennessee", 3),
        ("IN-MIL-BHD-RDX", "Munitions India", "Bhandara, Maharashtra", 1),
        ("NO-CHN-ENG-RDX", "Chemring Nobel", "Engene", 1),
    ),
    "ammonium_perchlorate": (
        ("US-AMP-CED-AP", "AMPAC", "Cedar City, Utah", 3),
        ("IN-APE-ALV-AP", "Ammonium Perchlorate Experimental Plant", "Aluva, Kerala", 1),
        ("JP-CRL-NGT-AP", "Japan Carlit", "Joetsu, Niigata", 0.5),
    ),
    "al_powder": (
        ("US-VLM-STK-ALP", "Valimet", "Stockton, California", 2),
        ("US-AMP-PAL-ALP", "Ampal", "Palmerton, Pennsylvania", 1),
        ("IN-MEP-MDU-ALP", "Madurai aluminium powder makers (illustrative)", "Madurai, Tamil Nadu", 1),
    ),
    "gallium_6n": (
        ("JP-DWA-AKT-GA6N", "Dowa Electronics Materials", "Akita", 2),
        ("CA-5NP-MTL-GA6N", "5N Plus", "Montreal, Quebec", 1),
        ("DE-PPM-LAN-GA6N", "PPM Pure Metals", "Langelsheim", 1),
        ("US-IND-UTC-GA6N", "Indium Corporation", "Utica, New York", 1),
        ("CN-HPG-BJG-GA6N", "Beijing high-purity gallium refiners (illustrative)", "Beijing", 3),
        ("CN-HPG-NNG-GA6N", "Guangxi high-purity gallium refiners (illustrative)", "Nanning, Guangxi", 2),
    ),
    "sic_substrate": (
        ("US-WLF-DUR-SIC", "Wolfspeed", "Durham, North Carolina", 4),
        ("US-COH-SAX-SIC", "Coherent", "Saxonburg, Pennsylvania", 2),
        ("DE-SCR-NUE-SIC", "SiCrystal", "Nuremberg", 2),
        ("CN-SIC-JIN-SIC", "SICC", "Jinan, Shandong", 2),
        ("JP-RSN-HKN-SIC", "Resonac", "Hikone, Shiga", 1),
    ),
    "ge_optic": (
        ("US-UMI-QPW-GEO", "Umicore Optical Materials", "Quapaw, Oklahoma", 2),
        ("BE-UMI-OLN-GEO", "Umicore", "Olen", 2),
        ("US-COH-SAX-GEO", "Coherent", "Saxonburg, Pennsylvania", 1),
        ("IN-OEF-DDN-GEO", "India Optel (Opto Electronics Factory)", "Dehradun", 1),
        ("CN-YGT-KMG-GEO", "Yunnan germanium optics makers (illustrative)", "Kunming, Yunnan", 3),
    ),
    "fpga_die": (
        ("TW-TSM-HSC-DIE", "TSMC", "Hsinchu", 4),
        ("TW-TSM-TNN-DIE", "TSMC", "Tainan", 3),
        ("US-GFS-MAL-DIE", "GlobalFoundries (trusted foundry)", "Malta, New York", 1.5),
        ("KR-SSF-GIH-DIE", "Samsung Foundry", "Giheung", 1),
    ),
    "fpga": (
        ("US-AMK-PEO-FPGA", "Amkor Technology", "Peoria, Arizona", 1),
        ("MY-PNO-PEN-FPGA", "Penang OSAT (illustrative)", "Bayan Lepas, Penang", 3),
        ("TW-ASE-KHH-FPGA", "ASE", "Kaohsiung", 3),
        ("IN-TSA-JAG-FPGA", "Tata Semiconductor Assembly and Test", "Jagiroad, Assam", 0.5),
        ("IN-KYN-SND-FPGA", "Kaynes Semicon", "Sanand, Gujarat", 0.5),
    ),
    "pcb": (
        ("TW-UMT-TYN-PCB", "Unimicron", "Taoyuan", 3),
        ("TW-ZDT-TYN-PCB", "Zhen Ding Technology", "Taoyuan", 2),
        ("CN-PCB-SZN-PCB", "Shenzhen PCB makers (illustrative)", "Shenzhen, Guangdong", 3),
        ("US-TTM-SNA-PCB", "TTM Technologies", "Santa Ana, California", 2),
        ("IN-ACC-HSR-PCB", "Hosur PCB makers (illustrative)", "Hosur, Tamil Nadu", 0.5),
    ),
    "ta_capacitor": (
        ("US-KEM-SMP-TACAP", "KEMET", "Simpsonville, South Carolina", 2),
        ("MX-KEM-MAT-TACAP", "KEMET", "Matamoros, Tamaulipas", 2),
        ("CZ-KYA-LAN-TACAP", "KYOCERA AVX", "Lanškroun", 2),
        ("CN-TCP-ZZH-TACAP", "Zhuzhou capacitor makers (illustrative)", "Zhuzhou, Hunan", 2),
        ("IN-KEL-KNR-TACAP", "Keltron Component Complex", "Kannur, Kerala", 0.5),
    ),
    "rad_hard_asic": (
        ("US-SKW-BLM-RHA", "SkyWater Technology", "Bloomington, Minnesota", 2),
        ("US-MCH-COS-RHA", "Microchip Technology", "Colorado Springs, Colorado", 2),
        ("IN-SCL-MOH-RHA", "Semi-Conductor Laboratory", "Mohali, Punjab", 1),
        ("FR-STM-CRL-RHA", "STMicroelectronics", "Crolles", 1),
    ),
    "ir_fpa": (
        ("US-DRS-DAL-FPA", "Leonardo DRS", "Dallas, Texas", 2),
        ("US-TDY-GOL-FPA", "Teledyne FLIR", "Goleta, California", 1),
        ("FR-LYN-VEU-FPA", "Lynred", "Veurey-Voroize", 2),
        ("IN-BEL-BLR-FPA", "Bharat Electronics (BEL)", "Bengaluru", 0.5),
    ),
    "li_anode": (
        ("CN-BTR-SZN-ANODE", "Shenzhen anode makers (illustrative)", "Shenzhen, Guangdong", 4),
        ("CN-SHS-SHA-ANODE", "Shanghai anode makers (illustrative)", "Shanghai", 3),
        ("CN-IMA-BAO-ANODE", "Inner Mongolia anode makers (illustrative)", "Baotou, Inner Mongolia", 3),
        ("JP-RSN-KWS-ANODE", "Resonac", "Kawasaki", 1),
        ("KR-PFM-SEJ-ANODE", "POSCO Future M", "Sejong", 1),
        ("IN-EAM-VJN-ANODE", "Epsilon Advanced Materials", "Vijayanagar, Karnataka", 0.5),
    ),
    "li_cell": (
        ("KR-LGE-OCH-CELL", "LG Energy Solution", "Ochang", 3),
        ("JP-PAN-SMT-CELL", "Panasonic Energy", "Sumoto, Hyogo", 2),
        ("CN-CTL-NGD-CELL", "CATL", "Ningde, Fujian", 4),
        ("IN-ARE-TPT-CELL", "Amara Raja Energy & Mobility", "Tirupati, Andhra Pradesh", 1),
        ("US-SFT-JAX-CELL", "Saft America", "Jacksonville, Florida", 1),
    ),
    "battery_pack": (
        ("US-EGP-JOP-BAT", "EaglePicher Technologies", "Joplin, Missouri", 2),
        ("IN-HBL-HYD-BAT", "HBL Engineering", "Hyderabad", 1),
        ("FR-SFT-POI-BAT", "Saft", "Poitiers", 1),
    ),
    "armour_steel": (
        ("IN-SAI-BHI-ARM", "Steel Authority of India (SAIL)", "Bhilai, Chhattisgarh", 2),
        ("IN-JSW-VJN-ARM", "JSW Steel", "Vijayanagar, Karnataka", 1),
        ("US-SSB-MOB-ARM", "SSAB Americas", "Mobile, Alabama", 2),
        ("SE-SSB-OXE-ARM", "SSAB", "Oxelösund", 1),
    ),
    "carbon_fiber": (
        ("US-HXL-DEC-CF", "Hexcel", "Decatur, Alabama", 2),
        ("JP-TRY-EHM-CF", "Toray Industries", "Masaki, Ehime", 2),
        ("DE-SGL-MEI-CF", "SGL Carbon", "Meitingen", 1),
    ),
    "aramid": (
        ("US-DUP-RIC-ARA", "DuPont (Spruance)", "Richmond, Virginia", 2),
        ("NL-TJN-EMM-ARA", "Teijin Aramid", "Emmen", 2),
    ),
    "bearing": (
        ("US-TIM-LEB-BRG", "Timken Aerospace", "Lebanon, New Hampshire", 2),
        ("SE-SKF-GOT-BRG", "SKF", "Gothenburg", 1),
        ("IN-SCH-VAD-BRG", "Schaeffler India", "Vadodara, Gujarat", 1),
    ),
    "tbc_powder": (
        ("US-OER-WST-TBC", "Oerlikon Metco", "Westbury, New York", 1),
        ("US-PST-IND-TBC", "Praxair Surface Technologies", "Indianapolis, Indiana", 1),
    ),
    "boron_carbide": (
        ("CN-B4C-MDJ-B4C", "Mudanjiang boron carbide makers (illustrative)", "Mudanjiang, Heilongjiang", 4),
        ("CN-B4C-DNH-B4C", "Dunhua boron carbide makers (illustrative)", "Dunhua, Jilin", 2),
        ("DE-ESK-KEM-B4C", "3M Technical Ceramics", "Kempten", 1),
        ("IN-CUM-CHN-B4C", "Carborundum Universal", "Chennai, Tamil Nadu", 0.5),
    ),
    "b4c_tile": (
        ("US-CST-GLD-B4T", "CoorsTek", "Golden, Colorado", 2),
        ("IN-MDN-HYD-B4T", "Mishra Dhatu Nigam (MIDHANI)", "Hyderabad", 1),
    ),
    "afv_tyre": (
        ("US-MCH-GRV-TYRE", "Michelin North America", "Greenville, South Carolina", 2),
        ("IN-MRF-CHN-AFVT", "MRF", "Chennai, Tamil Nadu", 1),
        ("FR-MCH-CLF-TYRE", "Michelin", "Clermont-Ferrand", 1),
    ),
    "combustor": (
        ("US-GEA-MAD-COMB", "GE Aerospace", "Madisonville, Kentucky", 3),
        ("IN-HAL-BLR-COMB", "Hindustan Aeronautics (HAL) Engine Division", "Bengaluru", 1),
    ),
    "turbine_blade": (
        ("US-PCC-MNV-BLADE", "PCC Airfoils", "Minerva, Ohio", 2),
        ("US-HWM-WHL-BLADE", "Howmet Aerospace", "Whitehall, Michigan", 2),
        ("IN-HAL-BLR-BLADE", "HAL Foundry & Forge Division", "Bengaluru", 1),
    ),
    # The single large closed-die press: the only qualified source of rotor discs, and the main
    # source of forged compressor blades, on one shared press (see SiteCapacity below).
    "rotor_disc": (("US-KHF-PIT-DISC", "Keystone Heavy Forge (illustrative)", "Pittsburgh, Pennsylvania", 1),),
    "compressor_blade": (
        ("US-KHF-PIT-BLADE", "Keystone Heavy Forge (illustrative)", "Pittsburgh, Pennsylvania", 3),
        ("IN-BFL-PUN-BLADE", "Bharat Forge", "Pune", 1),
    ),
    # F414-class engine
    "hpt_module": (
        ("US-GEA-EVN-HPT", "GE Aerospace", "Evendale, Ohio", 3),
        ("IN-HAL-BLR-HPT", "Hindustan Aeronautics (HAL) Engine Division", "Bengaluru", 1),
    ),
    "compressor_module": (
        ("US-GEA-LYN-HPC", "GE Aerospace", "Lynn, Massachusetts", 3),
        ("IN-HAL-BLR-HPC", "Hindustan Aeronautics (HAL) Engine Division", "Bengaluru", 1),
    ),
    "fadec": (
        ("US-BAE-JCY-FADEC", "BAE Systems", "Johnson City, New York", 3),
        ("IN-HAL-HYD-FADEC", "HAL Avionics Division", "Hyderabad", 1),
    ),
    "fuel_actuator": (
        ("US-WWD-RKF-FMU", "Woodward", "Rockford, Illinois", 3),
        ("IN-HAL-LKO-FMU", "HAL Accessories Division", "Lucknow", 1),
    ),
    # Stryker-class vehicle
    "afv_hull": (
        ("US-GDLS-ANN-HULL", "General Dynamics Land Systems", "Anniston, Alabama", 2),
        ("IN-LNT-HZR-HULL", "Larsen & Toubro Armoured Systems Complex", "Hazira, Gujarat", 1),
    ),
    "spall_liner": (
        ("US-PCI-LTZ-SPALL", "Protective Composites (illustrative)", "Lititz, Pennsylvania", 2),
        ("IN-TASL-HYD-SPALL", "Tata Advanced Systems", "Hyderabad", 1),
    ),
    "power_pack": (
        ("US-CAT-LAF-PWR", "Caterpillar", "Lafayette, Indiana", 2),
        ("IN-CUM-PUN-PWR", "Cummins India", "Pune", 1),
    ),
    "transmission": (("US-ALN-IND-XMSN", "Allison Transmission", "Indianapolis, Indiana", 1),),
    "ir_sight": (
        ("IN-BEL-MCP-SIGHT", "Bharat Electronics (BEL)", "Machilipatnam", 2),
        ("US-DRS-MLB-SIGHT", "Leonardo DRS", "Melbourne, Florida", 2),
        ("FR-SED-PAR-SIGHT", "Safran Electronics & Defense", "Massy", 1),
    ),
    "rws": (
        ("NO-KOG-KGB-RWS", "Kongsberg Defence & Aerospace", "Kongsberg", 2),
        ("US-KOG-JHN-RWS", "Kongsberg Protech Systems USA", "Johnstown, Pennsylvania", 2),
        ("IN-BEL-BLR-RWS", "Bharat Electronics (BEL)", "Bengaluru", 1),
    ),
    "vetronics": (
        ("US-GDM-SCO-VET", "General Dynamics Mission Systems", "Scottsdale, Arizona", 2),
        ("IN-BEL-BLR-VET", "Bharat Electronics (BEL)", "Bengaluru", 1),
    ),
    "penetrator": (
        ("IN-MIL-TRY-PEN", "Munitions India (Heavy Alloy Penetrator Project)", "Tiruchirappalli", 1),
        ("US-MTM-IND-PEN", "Mi-Tech Metals", "Indianapolis, Indiana", 2),
    ),
    # Javelin-class missile
    "atgm_seeker": (
        ("US-RTX-TUC-SEEKER", "RTX (Raytheon)", "Tucson, Arizona", 3),
        ("IN-BDL-KCB-SEEKER", "Bharat Dynamics (BDL)", "Kanchanbagh, Hyderabad", 1),
    ),
    "atgm_cas": (
        ("US-MOG-EAU-CAS", "Moog", "East Aurora, New York", 2),
        ("IN-BDL-KCB-CAS", "Bharat Dynamics (BDL)", "Kanchanbagh, Hyderabad", 1),
    ),
    "atgm_guidance": (
        ("US-LMT-OCA-GUID", "Lockheed Martin", "Ocala, Florida", 3),
        ("IN-BEL-BLR-GUID", "Bharat Electronics (BEL)", "Bengaluru", 1),
    ),
    "rocket_motor": (
        ("US-L3H-CAM-MOTOR", "L3Harris Aerojet Rocketdyne", "Camden, Arkansas", 3),
        ("IN-PEL-KTP-MOTOR", "Premier Explosives", "Katepally, Telangana", 1),
        ("IN-BDL-BHN-MOTOR", "Bharat Dynamics (BDL)", "Bhanur, Telangana", 1),
    ),
    "warhead": (
        ("US-GDO-NCV-WHD", "General Dynamics OTS", "Niceville, Florida", 2),
        ("IN-MIL-KHM-WHD", "Munitions India", "Khamaria, Jabalpur", 1),
    ),
    "launch_tube": (
        ("US-RCM-HSV-TUBE", "Redstone Composites (illustrative)", "Huntsville, Alabama", 2),
        ("IN-TASL-HYD-TUBE", "Tata Advanced Systems", "Hyderabad", 1),
    ),
    # P-8I-class sustainment
    "sono_electronics": (
        ("US-ULM-CCT-SONOEL", "Ultra Maritime", "Columbia City, Indiana", 2),
        ("IN-BEL-PNK-SONOEL", "Bharat Electronics (BEL)", "Panchkula, Haryana", 1),
    ),
    "hydrophone": (
        ("US-PZT-ALB-HYD", "Southwest Piezo Ceramics (illustrative)", "Albuquerque, New Mexico", 2),
        ("IN-KEL-KOC-HYD", "Keltron", "Kochi, Kerala", 1),
    ),
    "p8_radar_lru": (("US-RTX-MCK-RADLRU", "RTX (Raytheon)", "McKinney, Texas", 1),),
    "p8_mission_computer": (
        ("US-BOE-STL-MC", "Boeing Defense", "St. Louis, Missouri", 2),
        ("IN-HAL-HYD-MC", "HAL Avionics Division", "Hyderabad", 1),
    ),
    # Su-30MKI-class spares: Russian OEMs, with smaller licensed or indigenised Indian lines
    "al31_hot_section": (
        ("RU-UMP-UFA-HOT", "UEC-UMPO", "Ufa, Bashkortostan", 4),
        ("IN-HAL-KPT-HOT", "HAL Koraput Division", "Koraput, Odisha", 1),
    ),
    "al31_accessory": (
        ("RU-STR-PRM-ACC", "UEC-Star", "Perm", 3),
        ("IN-HAL-LKO-ACC", "HAL Accessories Division", "Lucknow", 1),
    ),
    "al31_bearing": (("RU-EPK-SAM-BRG", "EPK Samara bearing plant (illustrative)", "Samara", 1),),
    "n011m_lru": (("RU-NII-ZHU-RADLRU", "NIIP Tikhomirov", "Zhukovsky, Moscow Oblast", 1),),
    "su30_avionics_lru": (
        ("RU-RPK-RAM-AVLRU", "RPKB", "Ramenskoye, Moscow Oblast", 3),
        ("IN-HAL-HYD-AVLRU", "HAL Avionics Division", "Hyderabad", 1),
    ),
    "su30_airframe_part": (
        ("RU-IRK-IRK-AFP", "Irkut", "Irkutsk", 2),
        ("IN-HAL-NSK-AFP", "HAL Aircraft Manufacturing Division", "Nashik", 2),
    ),
    "su30_hydraulics": (
        ("RU-PMZ-MOS-HYD", "Moscow hydraulics OEM (illustrative)", "Moscow", 3),
        ("IN-HAL-LKO-HYD", "HAL Accessories Division", "Lucknow", 1),
    ),
    "su30_tyre": (("IN-MRF-CHN-TYRE", "MRF", "Chennai, Tamil Nadu", 1),),
    # GaN radar and EW. The illustrative foundry in Richardson grows epi and fabs MMICs on one site.
    "gan_epi": (
        ("US-LSG-RCH-EPI", "Lone Star GaN Foundry (illustrative)", "Richardson, Texas", 2),
        ("US-IQE-GRB-EPI", "IQE", "Greensboro, North Carolina", 1),
        ("GB-IQE-CDF-EPI", "IQE", "Cardiff", 2),
        ("JP-SED-YOK-EPI", "Sumitomo Electric Device Innovations", "Yokohama", 1),
        ("IN-GAE-HYD-EPI", "GAETEC", "Hyderabad", 0.5),
    ),
    "gan_mmic": (
        ("US-LSG-RCH-MMIC", "Lone Star GaN Foundry (illustrative)", "Richardson, Texas", 3),
        ("US-RTX-AND-MMIC", "RTX (Raytheon)", "Andover, Massachusetts", 2),
        ("IN-GAE-HYD-MMIC", "GAETEC", "Hyderabad", 1),
        ("DE-UMS-ULM-MMIC", "United Monolithic Semiconductors", "Ulm", 1),
    ),
    "tr_module": (
        ("US-RTX-AND-TRM", "RTX (Raytheon)", "Andover, Massachusetts", 3),
        ("IN-BEL-BLR-TRM", "Bharat Electronics (BEL)", "Bengaluru", 2),
        ("IN-AST-HYD-TRM", "Astra Microwave Products", "Hyderabad", 1),
    ),
    "radar_processor": (
        ("US-RTX-AND-RPROC", "RTX (Raytheon)", "Andover, Massachusetts", 2),
        ("US-MRC-AND-RPROC", "Mercury Systems", "Andover, Massachusetts", 1),
        ("IN-BEL-BLR-RPROC", "Bharat Electronics (BEL)", "Bengaluru", 1),
    ),
}


@dataclass(frozen=True, slots=True)
class ProductSpec:
    """A product node: demand per week and a loss weight = unit value x mission criticality."""

    node: str
    material: str
    organization: str
    place: str
    demand: float
    unit_value: float
    """Illustrative unit value, $ million."""
    criticality: int
    """1 (routine) to 3 (mission-critical)."""

    @property
    def weight(self) -> float:
        return round(self.unit_value * self.criticality, 6)


_P = ProductSpec
PRODUCTS: tuple[ProductSpec, ...] = (
    _P("IN-HAL-BLR-ENG-ASSY", "f414_engine", "Hindustan Aeronautics (HAL) Engine Division", "Bengaluru", 0.5, 5, 3),
    _P("US-GEA-LYN-ENG-ASSY", "f414_engine", "GE Aerospace", "Lynn, Massachusetts", 1.5, 5, 3),
    _P("IN-TASL-PUN-AFV-ASSY", "stryker_vehicle", "Tata Advanced Systems", "Pune", 0.5, 4.5, 2),
    _P("US-GDLS-ANN-AFV-ASSY", "stryker_vehicle", "General Dynamics Land Systems", "Anniston, Alabama", 1, 4.5, 2),
    _P("IN-MIL-KRK-30MM-AMMO", "apfsds_30mm", "Munitions India", "Khadki, Pune", 400, 0.004, 2),
    _P("US-NGC-PLY-30MM-AMMO", "apfsds_30mm", "Northrop Grumman", "Plymouth, Minnesota", 1500, 0.004, 2),
    _P("IN-BDL-BHN-ATGM-ASSY", "javelin_round", "Bharat Dynamics (BDL)", "Bhanur, Telangana", 5, 0.2, 3),
    _P("US-JVJ-TRY-ATGM-ASSY", "javelin_round", "Javelin JV (Lockheed Martin / RTX)", "Troy, Alabama", 40, 0.2, 3),
    _P("IN-BEL-MCP-CLU-ASSY", "javelin_clu", "Bharat Electronics (BEL)", "Machilipatnam", 1, 0.3, 2),
    _P(
        "IN-BDL-BHN-SONO-ASSY",
        "sonobuoy",
        "Bharat Dynamics (BDL) with Ultra Maritime",
        "Bhanur, Telangana",
        60,
        0.005,
        2,
    ),
    _P("US-ERP-DLS-SONO-ASSY", "sonobuoy", "ERAPSCO", "DeLeon Springs, Florida", 400, 0.005, 2),
    _P("IN-NAV-ARK-P8I-ENGSP", "p8i_engine_spares", "Indian Navy P-8I depot (INS Rajali)", "Arakkonam", 0.4, 2, 3),
    _P("IN-NAV-ARK-P8I-AVSP", "p8i_avionics_spares", "Indian Navy P-8I depot (INS Rajali)", "Arakkonam", 1, 0.8, 3),
    _P("IN-HAL-KPT-AL31-OVH", "al31_overhaul_kit", "HAL Koraput Division", "Koraput, Odisha", 1, 3, 3),
    _P("IN-HAL-NSK-SU30-SPARES", "su30_spares_kit", "HAL Aircraft Manufacturing Division", "Nashik", 2, 1.5, 3),
    _P("IN-BEL-BLR-AESA-ASSY", "aesa_radar", "Bharat Electronics (BEL)", "Bengaluru", 0.25, 8, 3),
    _P("IN-BEL-BLR-EW-ASSY", "ew_suite", "Bharat Electronics (BEL)", "Bengaluru", 0.3, 4, 2),
    _P("US-RTX-AND-RADAR-ASSY", "gan_ground_radar", "RTX (Raytheon)", "Andover, Massachusetts", 0.1, 30, 3),
)

FORGE_SITE = "US-KHF-PIT"
"""The single large US forge: rotor discs and compressor blades share its press."""
GAN_FAB_SITE = "US-LSG-RCH"
"""The illustrative US GaN foundry: epitaxy and MMIC fab on one site."""
OPAQUE_COUNTRIES = frozenset({"RU"})
"""Program parts from these countries come without mapped sub-tiers (no bill of materials)."""

# -- routes: which straits an overseas sea shipment crosses ---------------------------------------

MALACCA, HORMUZ, BAB, SUEZ, TAIWAN, PANAMA = (
    "Strait of Malacca",
    "Strait of Hormuz",
    "Bab-el-Mandeb",
    "Suez Canal",
    "Taiwan Strait",
    "Panama Canal",
)
CHOKEPOINTS = (MALACCA, TAIWAN, BAB, SUEZ, HORMUZ, PANAMA)
REGIONS: dict[str, str] = {
    # Shipping regions: countries whose ports share the same sea lanes.
    "EA": "CN JP KR",
    "TW": "TW",
    "SEA": "VN ID PH TH MY",
    "MM": "MM",
    "SA": "IN",
    "NA": "US MX",
    "NAP": "CA",  # Canada's mines and refiners ship from the Pacific coast
    "RU": "RU KZ TJ",
    "AF": "CD MG MZ RW",  # East African ports
    "AFW": "NG",
    "SAP": "BO CL",  # Pacific ports of South America
    "SAA": "BR",
    "OC": "AU NC",
    "ME": "TR",
    "CAR": "CU",
    "EU": "DE BE FI EE AT ES PT SE FR NO NL GB PL CZ",
    "GULF": "QA",
    "MED": "DZ",
}
# Coarse sea lanes (origin region, destination region) -> straits crossed; pairs not listed cross none
# of the modelled chokepoints (land routes, transpacific or transatlantic crossings).
LANES: dict[tuple[str, str], tuple[str, ...]] = {
    ("EA", "SA"): (MALACCA,),
    ("EA", "EU"): (MALACCA, BAB, SUEZ),
    ("TW", "SA"): (MALACCA,),
    ("TW", "EU"): (MALACCA, BAB, SUEZ),
    ("SEA", "SA"): (MALACCA,),
    ("SEA", "EU"): (MALACCA, BAB, SUEZ),
    ("MM", "SEA"): (MALACCA,),
    ("MM", "EU"): (BAB, SUEZ),
    ("MM", "NA"): (MALACCA,),
    ("SA", "EA"): (MALACCA,),
    ("SA", "SEA"): (MALACCA,),
    ("SA", "NA"): (BAB, SUEZ),
    ("SA", "EU"): (BAB, SUEZ),
    ("NA", "SA"): (SUEZ, BAB),
    ("NAP", "EU"): (PANAMA,),
    ("NAP", "SA"): (MALACCA,),
    ("EU", "SA"): (SUEZ, BAB),
    ("EU", "EA"): (SUEZ, BAB, MALACCA),
    ("EU", "SEA"): (SUEZ, BAB, MALACCA),
    ("RU", "SA"): (SUEZ, BAB),
    ("RU", "SEA"): (SUEZ, BAB, MALACCA),
    ("AF", "EA"): (MALACCA,),
    ("AF", "SEA"): (MALACCA,),
    ("AF", "EU"): (BAB, SUEZ),
    ("AFW", "EA"): (MALACCA,),
    ("AFW", "SEA"): (MALACCA,),
    ("SAP", "NA"): (PANAMA,),
    ("SAP", "EU"): (PANAMA,),
    ("SAP", "SA"): (MALACCA,),
    ("SAA", "EA"): (MALACCA,),
    ("SAA", "SEA"): (MALACCA,),
    ("OC", "EU"): (BAB, SUEZ),
    ("ME", "SA"): (SUEZ, BAB),
    ("ME", "EA"): (SUEZ, BAB, MALACCA),
    ("CAR", "EA"): (PANAMA,),
    ("CAR", "SEA"): (PANAMA,),
    ("GULF", "SA"): (HORMUZ,),
    ("GULF", "EA"): (HORMUZ, MALACCA),
    ("GULF", "SEA"): (HORMUZ, MALACCA),
    ("GULF", "EU"): (HORMUZ, BAB, SUEZ),
    ("GULF", "NA"): (HORMUZ, BAB, SUEZ),
    ("MED", "SA"): (SUEZ, BAB),
    ("MED", "EA"): (SUEZ, BAB, MALACCA),
    ("MED", "SEA"): (SUEZ, BAB, MALACCA),
}

# -- sizing ---------------------------------------------------------------------------------------

SLACK = (0.10, 0.40)
"""Capacity above steady throughput, as a fraction: drawn per node (per material for mines)."""

SPECIALTY_METALS = frozenset({"superalloy", "ti_billet", "armour_steel", "tungsten_alloy"})
# DFARS 225.872-1 qualifying countries (reciprocal defense procurement partners) present in this
# network, plus the US. India is not one: the Feb 2025 joint statement set out to negotiate an RDP.
_QUALIFYING = "US AU AT BE CA CZ FI FR DE JP NL NO PL PT ES SE TR GB"
QUALIFYING_COUNTRIES = frozenset(_QUALIFYING.split())


US_ONLY = frozenset({"gan_epi", "gan_mmic", "rad_hard_asic"})
"""US-made die go only into US programs (ITAR/EAR), and US programs take only US-made die (trusted foundry)."""


HOME_BIAS = 4.0
"""How much more of its need a customer places with a supplier in its own country than its weight says."""
