"""The Python API for notebooks: load a network, build scenarios, run them, get a DataFrame.

>>> import setu
>>> net = setu.load_network("network.xlsx")
>>> frame = setu.run(net, setu.scenarios.node_sweep(net, ttr=4)).to_frame()
"""

from __future__ import annotations

from pathlib import Path

from setu.network.compile import CompiledNetwork, compile_network
from setu.network.io.loader import Format, read_network
from setu.network.model import Network
from setu.stress import scenarios
from setu.stress.engine import Progress, StressResult, run_scenarios
from setu.stress.explain import Explanation
from setu.stress.explain import explain as _explain
from setu.stress.scenarios import Scenario

__all__ = ["Scenario", "explain", "load_network", "run", "scenarios"]


def load_network(source: str | Path | Network, format: Format = "auto", **options: float) -> CompiledNetwork:
    """Read (if a path) and compile a network.

    Parameters
    ----------
    source
        A path to a network file or folder, or a :class:`setu.network.model.Network`.
    format
        ``auto``, ``setu``, ``accelerator`` or ``willems``.
    **options
        Willems derivation knobs (``capacity_slack``, ``inventory_cover``, ``demand_scale``).
    """
    network = source if isinstance(source, Network) else read_network(source, format, max_rows=None, **options)
    return compile_network(network)


def run(
    net: CompiledNetwork,
    scenario_list: list[Scenario] | None = None,
    *,
    ttr: float | None = None,
    jobs: int = 1,
    compute_tts: bool = True,
    progress: Progress | None = None,
) -> StressResult:
    """Run scenarios (default: the single-node sweep with ``ttr`` or the nodes' own estimates).

    Call ``.to_frame()`` on the result for a pandas DataFrame.
    """
    if scenario_list is None:
        scenario_list = scenarios.node_sweep(net, ttr=ttr)
    return run_scenarios(net, scenario_list, jobs=jobs, compute_tts=compute_tts, progress=progress)


def explain(net: CompiledNetwork, scenario: Scenario) -> Explanation:
    """Explain one scenario: products that lose, binding materials, re-routed shipments."""
    return _explain(net, scenario)
