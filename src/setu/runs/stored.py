"""How a computed run is stored: one row per scenario, and what its view loses with nothing disrupted."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from setu.network.compile import CompiledNetwork
from setu.stress.baseline import Baseline
from setu.stress.engine import StressResult


def result_rows(run_id: int, result: StressResult, marking_id: int) -> list[dict[str, Any]]:
    """The :class:`setu.models.stress.ResultRecord` rows of a computed run, every one marked ``marking_id``."""
    rei, ttr, at_risk = result.rei, result.ttr, result.at_risk
    baseline_loss = result.baseline_loss if result.baseline_loss is not None else np.zeros(len(result.scenarios))
    relative = result.tts if result.tts_relative is None else result.tts_relative
    return [
        {
            "run_id": run_id,
            "position": i,
            "scenario_id": s.id,
            "kind": s.kind,
            "label": s.label,
            "disrupted": ";".join(s.nodes),
            "ttr": float(ttr[i]),
            "lost_profit": float(result.lost_profit[i]),
            "tts": float(result.tts[i]) if math.isfinite(result.tts[i]) else None,
            "tts_infinite": bool(math.isinf(result.tts[i])),
            "rei": float(rei[i]),
            "at_risk": bool(at_risk[i]),
            "baseline_loss": float(baseline_loss[i]),
            **_relative_columns(float(result.tts[i]), float(relative[i])),
            "marking_id": marking_id,
        }
        for i, s in enumerate(result.scenarios)
    ]


def _relative_columns(tts: float, relative: float) -> dict[str, Any]:
    """How a result stores its TTS relative to the baseline: nothing where it is the plain TTS."""
    if relative == tts or (math.isnan(relative) and math.isnan(tts)):
        return {"tts_relative": None, "tts_relative_infinite": False}
    finite = relative if math.isfinite(relative) else None
    return {"tts_relative": finite, "tts_relative_infinite": math.isinf(relative)}


def baseline_summary(view: CompiledNetwork, base: Baseline | None) -> dict[str, Any] | None:
    """What a run stores of its view's baseline (see :attr:`setu.models.stress.RunRecord.baseline`)."""
    if base is None:
        return None
    products = view.product_nodes
    short = {view.node_ids[int(products[i])]: float(base.shortfall[i]) for i in np.flatnonzero(base.shortfall)}
    return {"loss_rate": base.loss_rate, "tts": base.tts if math.isfinite(base.tts) else None, "short": short}
