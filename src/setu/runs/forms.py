"""What the run pages' forms post, parsed and checked; and the app's run jobs, where forms and API start runs.

A form's fields are kept as typed (:class:`ScenarioForm`) so that a refused form shows them again with
what is wrong (:class:`FormError`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import ValidationError

from setu.errors import InputError, NotFound, SetuError
from setu.runs.jobs import RunJobs
from setu.runs.schemas import ScenarioIn

KIND_NAMES = {
    "node": "Node",
    "site": "Site",
    "organization": "Organization",
    "party": "Party",
    "country": "Country",
    "material": "Material",
    "chokepoint": "Chokepoint",
    "export_control": "Export-control rule",
    "custom": "Custom set of nodes",
}
"""Every kind of scenario the engine builds, as the form names them."""
_LIST_SPLIT = re.compile(r"[,;\n]+")


def jobs_of(request: Request) -> RunJobs:
    """The runs this app executes (set up by :func:`setu.api.create_app` as ``app.state.run_jobs``)."""
    jobs: RunJobs = request.app.state.run_jobs
    return jobs


async def run_jobs(request: Request) -> RunJobs:
    """:func:`jobs_of` as a dependency (a coroutine: no worker-thread hop for what does no I/O)."""
    return jobs_of(request)


JobsDep = Annotated[RunJobs, Depends(run_jobs)]


class FormError(Exception):
    """What is wrong with a submitted form, as the page shows it."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = messages
        super().__init__("; ".join(messages))


@dataclass
class ScenarioForm:
    """The values of the new-scenario form, as submitted (so an error shows them again)."""

    kind: str = "country"
    value: str = ""
    nodes: str = ""
    materials: str = ""
    countries: str = ""
    severity: str = ""
    ttr: str = ""
    scenario_id: str = ""
    label: str = ""
    errors: list[str] = field(default_factory=list)


def _items(text: str) -> list[str]:
    return [item.strip() for item in _LIST_SPLIT.split(text) if item.strip()]


def number(text: str, name: str, low: float, high: float) -> float | None:
    """A number typed in a form field, or None when left empty.

    Raises
    ------
    FormError
        If it is not a number between ``low`` and ``high``.
    """
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise FormError([f"{name} must be a number, got {text.strip()!r}"]) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise FormError([f"{name} must be between {low:g} and {high:g}, got {text.strip()!r}"])
    return value


def scenario_in(form: ScenarioForm, network_id: int) -> ScenarioIn:
    """The API's scenario request on network ``network_id``, built from the form's fields for its kind.

    Raises
    ------
    FormError
        If a field the kind needs is missing or wrong.
    """
    if form.kind not in KIND_NAMES:
        raise FormError([f"choose a kind of scenario; {form.kind!r} is not one"])
    data: dict[str, Any] = {"network_id": network_id, "kind": form.kind}
    ttr = number(form.ttr, "TTR", 0, 1e12)
    severity = number(form.severity, "Severity", 0, 1)
    if ttr is not None:
        data["ttr"] = ttr
    if form.scenario_id.strip():
        data["id"] = form.scenario_id.strip()
    if form.label.strip():
        data["label"] = form.label.strip()
    if form.kind in ("node", "custom"):
        nodes = _items(form.nodes)
        if not nodes:
            raise FormError([f"a {KIND_NAMES[form.kind].lower()} scenario needs at least one node id"])
        data["nodes"] = nodes
        if severity is not None:
            if form.kind == "node":
                raise FormError(["a severity is for custom sets and export-control rules; a node is fully out"])
            data["severities"] = [severity] * len(nodes)
    elif form.kind == "export_control":
        materials, countries = _items(form.materials), _items(form.countries)
        if not materials or not countries:
            raise FormError(["an export-control rule needs materials and countries of origin"])
        data.update(materials=materials, countries=countries)
        if severity is not None:
            data["severity"] = severity
    else:
        if not form.value.strip():
            raise FormError([f"a {KIND_NAMES[form.kind].lower()} scenario needs a target"])
        if severity is not None:
            raise FormError(["a severity is for custom sets and export-control rules"])
        data["value"] = form.value.strip()
    try:
        return ScenarioIn.model_validate(data)
    except ValidationError as exc:
        messages = []
        for problem in exc.errors():
            where = ".".join(str(part) for part in problem["loc"])
            text = str(problem["msg"]).removeprefix("Value error, ")
            messages.append(f"{where}: {text}" if where else text)
        raise FormError(messages) from None


def messages_of(exc: SetuError) -> list[str]:
    """What a refused form shows for an error of the service it called."""
    if isinstance(exc, InputError):
        return [str(problem) for problem in exc.problems]
    if isinstance(exc, NotFound):
        return [f"no {exc.kind} {exc.key!r} on this network"]
    return [str(exc)]
