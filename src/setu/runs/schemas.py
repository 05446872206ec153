"""Request and response models of the scenario, run and result endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from setu.schemas import MAX_ID, ErrorBody, MarkingOut, Paged, Strict, Text

ScenarioKind = Literal[
    "node", "site", "organization", "party", "country", "material", "chokepoint", "export_control", "custom"
]
RunStatus = Literal["queued", "running", "completed", "failed", "cancelled"]
Ttr = Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Name = Annotated[Text, Field(min_length=1, max_length=200)]
NetworkId = Annotated[int, Field(ge=1, le=MAX_ID, description="The network, as you see it.")]

VALUE_KINDS = ("site", "organization", "party", "country", "material", "chokepoint")


def once_each(values: list[Any] | None, what: str = "") -> list[Any] | None:
    """``values`` unchanged, or a ValueError naming the first one given twice (a repeat is work or a typo)."""
    if values is None:
        return None
    first: dict[Any, int] = {}
    for position, value in enumerate(values):
        if value in first:
            raise ValueError(f"{what}{value!r} is listed twice (items {first[value]} and {position})")
        first[value] = position
    return values


class ScenarioIn(Strict):
    """A scenario to build on your view of network ``network_id`` and store.

    ``node`` and ``custom`` take ``nodes`` (``custom`` optionally one severity per node); ``site``,
    ``organization``, ``party``, ``country``, ``material`` and ``chokepoint`` take ``value``;
    ``export_control`` takes ``materials``, ``countries`` (of origin) and ``severity``. Without ``ttr``
    the scenario lasts as long as the longest TTR estimate of the nodes it disrupts.
    """

    network_id: NetworkId
    kind: ScenarioKind
    id: Name | None = Field(default=None, description="Its id among your scenarios here (default: from kind/value).")
    label: Annotated[Text, Field(max_length=300)] | None = None
    ttr: Ttr | None = Field(default=None, description="Time to recover (default: the nodes' longest estimate).")
    nodes: list[Name] | None = Field(default=None, max_length=10000, description="For node and custom.")
    severities: list[Fraction] | None = Field(
        default=None, max_length=10000, description="For custom: capacity fraction lost per node (default: all)."
    )
    value: Name | None = Field(
        default=None, description="For site, organization, party, country, material, chokepoint."
    )
    materials: list[Name] | None = Field(default=None, max_length=100, description="For export_control.")
    countries: list[Name] | None = Field(default=None, max_length=100, description="For export_control: origins.")
    severity: Fraction = Field(default=1.0, description="For export_control: capacity fraction lost.")

    @field_validator("nodes", "materials", "countries")
    @classmethod
    def _once_each(cls, values: list[str] | None) -> list[str] | None:
        return once_each(values)

    @model_validator(mode="after")
    def _parameters_fit_kind(self) -> ScenarioIn:
        if self.kind in ("node", "custom"):
            if not self.nodes:
                raise ValueError(f"a {self.kind} scenario needs nodes")
            if self.severities is not None and len(self.severities) != len(self.nodes):
                raise ValueError("severities needs one value per node")
            if self.severities is not None and self.kind != "custom":
                raise ValueError("severities are for custom scenarios")
        elif self.kind in VALUE_KINDS:
            if self.value is None:
                raise ValueError(f"a {self.kind} scenario needs a value")
        elif not self.materials or not self.countries:
            raise ValueError("an export_control scenario needs materials and countries")
        return self


class ScenarioOut(Strict):
    """A stored scenario."""

    id: int = Field(description="The stored scenario's id (for runs).")
    network_id: int
    scenario_id: str = Field(description="Its id among your scenarios on the network.")
    kind: ScenarioKind
    label: str
    ttr: float
    nodes: list[str] = Field(description="The disrupted nodes.")
    severities: list[float] | None = Field(description="Capacity fraction lost per node; null: full outages.")
    created_at: datetime
    marking: MarkingOut


class ScenarioPage(Paged):
    """A page of visible scenarios of a network."""

    items: list[ScenarioOut]


class RunIn(Strict):
    """What to run on your view of network ``network_id``: stored scenarios, or the sweep (one per visible supplier)."""

    network_id: NetworkId
    scenario_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(default=None, max_length=10000)
    sweep: bool = False
    ttr: Ttr | None = Field(default=None, description="Replaces the scenarios' TTR; the sweep's TTR.")
    compute_tts: bool = True
    name: str = Field(default="", max_length=200, description="What to call the run (empty: `Run N`).")
    reference: bool = Field(
        default=False,
        description="Make it the reference sweep of your view of the network, which the dashboard, the map "
        "and node pages use: only the sweep, with each node's own TTR and TTS.",
    )

    @field_validator("scenario_ids")
    @classmethod
    def _once_each(cls, values: list[int] | None) -> list[int] | None:
        return once_each(values, "scenario id ")

    @model_validator(mode="after")
    def _one_choice(self) -> RunIn:
        if self.sweep == bool(self.scenario_ids):
            raise ValueError("give either scenario_ids (at least one) or sweep: true")
        if self.reference and (not self.sweep or self.ttr is not None or not self.compute_tts):
            raise ValueError("a reference run is the sweep (sweep: true) with no ttr and compute_tts: true")
        return self


class RunRename(Strict):
    """A run's new name."""

    name: str = Field(max_length=200, description="What to call the run (empty: `Run N`).")


class BaselineOut(Strict):
    """What a view loses with nothing disrupted: partial views lack suppliers, so some products run short."""

    loss_rate: float = Field(ge=0, description="Weighted units lost per time unit in steady state.")
    tts: float | None = Field(description="When the undisrupted view runs short; null: never.")
    short: dict[str, float] = Field(description="Product node id -> demand per time unit it cannot meet.")


class RunOut(Strict):
    """A stress run: its state, progress and parameters."""

    id: int
    network_id: int
    name: str = Field(description="What its owner calls it; empty for `Run N`.")
    reference: bool = Field(description="A reference sweep (see `GET /runs/reference`).")
    started_by: str = Field(
        description="`you`, the starter's username when you may see their account, else empty (see origin_party)."
    )
    origin_party: str = Field(description="The party of the user who started it.")
    status: RunStatus
    done: int = Field(ge=0, description="Scenarios computed so far.")
    total: int = Field(ge=0, description="Scenarios in the run.")
    scenarios: list[int] | Literal["sweep"] = Field(description="Stored scenario ids, or `sweep`.")
    ttr: float | None
    compute_tts: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    wall_seconds: float | None
    error: str = Field(description="Why it failed; empty otherwise.")
    cancel_requested: bool = Field(
        description="A cancel was asked; a running run stops at its worker's next heartbeat."
    )
    attempts: int = Field(ge=0, description="Times a worker took the run (a run whose worker died is tried again).")
    baseline: BaselineOut | None = Field(
        description="What the view the run was computed on loses with nothing disrupted; null before it completes."
    )
    marking: MarkingOut = Field(description="Derived: admits only those who see every record the run used.")


class RunPage(Paged):
    """A page of visible runs, newest first."""

    items: list[RunOut]


class FiguresOut(Strict):
    """One scenario's figures in one run of a comparison."""

    loss: float = Field(description="Loss beyond the baseline.")
    tts: float | None = Field(description="TTS measured from the baseline; null when unbounded or not computed.")
    tts_infinite: bool
    ttr: float
    at_risk: bool
    rei: float = Field(description="The loss over the comparison's scale (the same yardstick in both runs).")


class ChangeOut(Strict):
    """A scenario both runs hold."""

    scenario_id: str
    label: str
    disrupted: list[str]
    a: FiguresOut
    b: FiguresOut
    loss_change: float = Field(description="b minus a.")
    tts_change: float | None = Field(description="b minus a; null when either is unbounded or not computed.")
    changed: bool


class ComparisonOut(Strict):
    """Two runs side by side, the largest change first (``GET /runs/compare``)."""

    a: RunOut
    b: RunOut
    both: int = Field(description="Scenarios both runs hold.")
    changed: int = Field(description="Of those, how many changed.")
    only_a: int
    only_b: int
    newly_at_risk: int = Field(description="At risk in b, not in a.")
    no_longer_at_risk: int = Field(description="At risk in a, not in b.")
    scale: float = Field(description="The loss an REI of 1 stands for, in both runs.")
    scale_run_id: int | None = Field(description="The reference sweep the scale comes from; null: the two runs.")
    offset: int
    limit: int
    items: list[ChangeOut]
    banner: str
    marking: MarkingOut


class ReferenceOut(Strict):
    """Your reference sweep of a network: the run your dashboard, map and node pages use."""

    run: RunOut | None = Field(description="The newest completed reference sweep on exactly your view; null if none.")
    pending: RunOut | None = Field(description="A reference sweep on your view still queued or running.")
    other_views: bool = Field(
        description="When run is null: a completed reference sweep you may see exists, computed on another view "
        "(a partner's, or yours before its records or markings changed); it is not used for your figures."
    )


class ResultOut(Strict):
    """Lost profit (PI), time to survive (TTS) and REI of one scenario of a run."""

    position: int = Field(ge=0, description="The scenario's place in the run.")
    scenario_id: str
    kind: str
    label: str
    disrupted: list[str]
    ttr: float
    lost_profit: float = Field(description="PI: weighted units lost over the TTR, baseline_loss included.")
    baseline_loss: float = Field(
        description="What your view loses over the TTR with nothing disrupted (0 on a view that never runs short)."
    )
    excess_loss: float = Field(description="Loss beyond the baseline: what the disruption itself costs.")
    tts: float | None = Field(description="Null when unbounded (see tts_infinite) or not computed.")
    tts_infinite: bool = Field(description="The network survives the disruption indefinitely.")
    tts_relative: float | None = Field(
        description="TTS measured from the baseline (at_risk compares it with the TTR): the scenario's own TTS where "
        "it runs short before the undisrupted view does, else how long the view keeps delivering what it sustains. "
        "Null when unbounded (tts_relative_infinite) or equal to tts."
    )
    tts_relative_infinite: bool
    rei: float = Field(description="Loss beyond the baseline over the run's largest.")
    at_risk: bool = Field(description="TTS is shorter than TTR.")
    marking: MarkingOut


class ResultPage(Paged):
    """A page of visible results of a run, filtered and sorted."""

    items: list[ResultOut]


class ProductLossOut(Strict):
    """A product that loses units in the scenario, against the undisrupted network."""

    product: str = Field(description="The product's node id.")
    lost_units: float = Field(description="Units lost over the TTR beyond what the undisrupted network loses.")
    lost_value: float = Field(description="Those units times the product's weight (part of PI).")
    demand_over_ttr: float = Field(description="The product's demand over the TTR.")
    binding: str = Field(description="What limits it: a material, `capacity`, or `outage` (it is disrupted).")
    binding_suppliers: list[str] = Field(description="The suppliers of the binding material.")


class FlowChangeOut(Strict):
    """A shipment that changes between the undisrupted plan and the scenario's plan."""

    supplier: str
    customer: str
    material: str
    base: float = Field(description="Units shipped over the TTR without the disruption.")
    scenario: float = Field(description="Units shipped over the TTR with it.")
    change: float


class ExplanationOut(Strict):
    """Why one scenario of a run scores as it does: products that lose, the binding material, re-routing."""

    run_id: int
    scenario_id: str
    kind: str
    label: str
    disrupted: list[str]
    severities: list[float] | None = Field(description="Capacity fraction lost per node; null: full outages.")
    ttr: float
    lost_profit: float = Field(description="PI of the scenario on your view.")
    base_lost_profit: float = Field(description="PI of the undisrupted network over the same TTR.")
    tts: float | None = Field(description="Null when unbounded (see tts_infinite).")
    tts_infinite: bool
    base_tts: float | None = Field(description="TTS of the undisrupted network; null when unbounded.")
    base_tts_infinite: bool
    at_risk: bool = Field(description="TTS is shorter than TTR.")
    first_short: list[str] = Field(description="Products whose demand binds the TTS: the first to run short.")
    losses: list[ProductLossOut] = Field(description="Products that lose, largest loss first.")
    rerouted: list[FlowChangeOut] = Field(description="Shipments that change, largest change first.")
    marking: MarkingOut = Field(description="The run's marking (with that of the view it was computed on).")


MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
"""The media type of each export format."""
_EXPORT_ROW = {
    "type": "object",
    "properties": {
        "scenario_id": {"type": "string"},
        "disrupted": {"type": "string"},
        "ttr": {"type": "number"},
        "lost_profit": {"type": "number"},
        "tts": {"anyOf": [{"type": "number"}, {"type": "string", "enum": ["inf"]}, {"type": "null"}]},
        "rei": {"type": "number"},
        "baseline_loss": {"type": "number"},
        "tts_relative": {"anyOf": [{"type": "number"}, {"type": "string", "enum": ["inf"]}, {"type": "null"}]},
    },
    "required": ["scenario_id", "disrupted", "ttr", "lost_profit", "tts", "rei", "baseline_loss", "tts_relative"],
}
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The results as a file (CSV, JSON, Parquet or Excel), its marking inside.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "marking": {"$ref": "#/components/schemas/MarkingOut"},
                        "results": {"type": "array", "items": _EXPORT_ROW},
                    },
                    "required": ["marking", "results"],
                }
            },
            "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
            MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
        },
        "headers": {
            "Content-Disposition": {"description": "attachment; filename=...", "schema": {"type": "string"}},
            "X-Setu-Marking": {"description": "The file's banner (ASCII).", "schema": {"type": "string"}},
        },
    },
    409: {"model": ErrorBody, "description": "The run is not in a state that allows it."},
}
"""The export's answers as OpenAPI documents them."""
REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report as a PDF, the banner on every page.",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        "headers": {"X-Setu-Marking": {"description": "The report's banner (ASCII).", "schema": {"type": "string"}}},
    },
    409: {"model": ErrorBody, "description": "The run has not completed."},
    429: {"model": ErrorBody, "description": "Reports are being printed; retry after the Retry-After seconds."},
    503: {"model": ErrorBody, "description": "The server cannot print now (no Chromium, or it did not finish)."},
}
"""The answers of the PDF report."""
