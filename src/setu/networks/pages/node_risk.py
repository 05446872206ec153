"""A node page's way from risk to action: its figures in the reader's reference sweep, the stored scenarios
naming it, and what the reader may do next (disrupt it, find partner sources, run the what-if, ask for
priority delivery)."""

from __future__ import annotations

import math
from typing import Any

from setu.report.charts import fmt
from setu.runs.reference import reference_run
from setu.runs.results import single_node_results
from setu.runs.scenarios import list_scenarios
from setu.sharing.roles import has_role
from setu.web.shell import Page

SCANNED_SCENARIOS = 1000
"""Stored scenarios of the network looked through for those naming the node (by scenario id)."""


def _tts(value: float) -> str:
    if math.isinf(value):
        return "∞"
    return "not computed" if math.isnan(value) else fmt(value)


def node_risk_context(page: Page, network_id: int, node_id: str) -> dict[str, Any]:
    """What the node page shows of the node's risk and the actions on it, every record labelled on ``page``.

    Parameters
    ----------
    page
        The page being built (its user, and the markings it shows).
    network_id, node_id
        The node, which the caller has read through the filter.

    Returns
    -------
    dict
        ``risk_run`` (the reference sweep or None), ``risk`` (the node's single-node result as shown, or
        None), ``naming`` (stored scenarios naming the node, with their markings) and the ``may_*`` flags of
        the actions the user's roles allow.
    """
    session, principal = page.session, page.principal
    choice = reference_run(session, principal, network_id)
    risk = None
    if choice.run is not None:
        page.label(choice.run)
        rows = single_node_results(session, principal, choice.run.id, [node_id])
        if rows:
            row = rows[0]
            risk = {
                "record": row,
                "marking": page.label(row),
                "loss": fmt(row.excess_loss),
                "baseline": fmt(row.baseline_loss) if row.baseline_loss > 0 else "",
                "tts": _tts(row.tts_relative_value),
                "ttr": fmt(row.ttr),
                "rei": f"{row.rei:.3f}",
            }
    scenarios, _total = list_scenarios(session, principal, network_id, limit=SCANNED_SCENARIOS)
    naming = [{"record": s, "marking": page.label(s)} for s in scenarios if node_id in s.nodes]
    return {
        "risk_run": choice.run,
        "risk_pending": choice.pending,
        "risk": risk,
        "naming": naming,
        "may_run": has_role(principal, "analyst", "admin"),
        "may_request": has_role(principal, "desk_officer", "admin"),
    }
