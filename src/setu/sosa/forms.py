"""What the SoSA pages' forms post: the draft form and an action's fields, typed, with the problems per field."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import Form

from setu.errors import Problem
from setu.sharing.markings import LEVEL_OF


@dataclass(slots=True)
class DraftForm:
    """What the user entered on the draft form, shown again with the problems when it is refused."""

    title: str = ""
    supplier_party: str = ""
    rating: str = "DO"
    program_symbol: str = ""
    program: str = ""
    network_id: str = ""
    item_node_id: str = ""
    supplier_organization_id: str = ""
    supplier_site: str = ""
    scenario_pk: str = ""
    quantity: str = ""
    unit: str = ""
    delivery_date: str = ""
    authorized_signer: str = ""
    justification: str = ""
    classification: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    def values(self) -> tuple[dict[str, Any], list[Problem]]:
        """The draft's values typed for the service, and the problems of the fields that are not even typed."""
        problems: list[Problem] = []
        out: dict[str, Any] = {
            name: getattr(self, name).strip()
            for name in ("title", "program_symbol", "program", "item_node_id", "supplier_site", "unit")
        }
        out["justification"] = self.justification.strip()
        out["authorized_signer"] = self.authorized_signer.strip()
        out["rating"] = self.rating
        # The network only links the request through its item or scenario; alone it would just narrow the marking.
        linked = ("supplier_organization_id", "scenario_pk")
        for name in ("network_id", *linked) if out["item_node_id"] or self.scenario_pk.strip() else linked:
            text = getattr(self, name).strip()
            if text and not (text.isdigit() and len(text) <= 12):
                problems.append(Problem(name, f"expected a choice from the list, got {text!r}"))
            elif text:
                out[name] = int(text)
        if self.quantity.strip():
            try:
                out["quantity"] = float(self.quantity)
            except ValueError:
                problems.append(Problem("quantity", f"expected a number, got {self.quantity!r}"))
        if self.delivery_date.strip():
            try:
                out["delivery_date"] = date.fromisoformat(self.delivery_date.strip())
            except ValueError:
                problems.append(Problem("delivery_date", f"expected a date YYYY-MM-DD, got {self.delivery_date!r}"))
        if not self.supplier_party:
            problems.append(Problem("supplier_party", "choose the party whose industry is asked"))
        if self.classification and self.classification not in LEVEL_OF:
            problems.append(Problem("classification", f"unknown classification {self.classification!r}"))
        return out, problems


def posted_draft(
    title: Annotated[str, Form(max_length=300)] = "",
    supplier_party: Annotated[str, Form(max_length=8)] = "",
    rating: Annotated[str, Form(max_length=2)] = "DO",
    program_symbol: Annotated[str, Form(max_length=16)] = "",
    program: Annotated[str, Form(max_length=200)] = "",
    network_id: Annotated[str, Form(max_length=12)] = "",
    item_node_id: Annotated[str, Form(max_length=200)] = "",
    supplier_organization_id: Annotated[str, Form(max_length=12)] = "",
    supplier_site: Annotated[str, Form(max_length=200)] = "",
    scenario_pk: Annotated[str, Form(max_length=12)] = "",
    quantity: Annotated[str, Form(max_length=32)] = "",
    unit: Annotated[str, Form(max_length=32)] = "",
    delivery_date: Annotated[str, Form(max_length=32)] = "",
    authorized_signer: Annotated[str, Form(max_length=200)] = "",
    justification: Annotated[str, Form(max_length=20000)] = "",
    classification: Annotated[str, Form(max_length=16)] = "",
) -> DraftForm:
    """The fields of a posted draft form, as entered (the supplier party's code in capitals)."""
    return DraftForm(
        title=title,
        supplier_party=supplier_party.strip().upper(),
        rating=rating,
        program_symbol=program_symbol,
        program=program,
        network_id=network_id,
        item_node_id=item_node_id,
        supplier_organization_id=supplier_organization_id,
        supplier_site=supplier_site,
        scenario_pk=scenario_pk,
        quantity=quantity,
        unit=unit,
        delivery_date=delivery_date,
        authorized_signer=authorized_signer,
        justification=justification,
        classification=classification,
    )


def field_errors(problems: list[Problem]) -> dict[str, list[str]]:
    """Problems by form field (``fields.reason`` is the field ``reason``)."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        name = problem.where.removeprefix("fields.").split(".")[0] or "form"
        errors.setdefault(name, []).append(problem.message)
    return errors


def action_fields(names: tuple[str, ...], posted: dict[str, str]) -> tuple[dict[str, str], dict[str, Any]]:
    """What was entered for an action's fields (and its note), and the fields to hand the service.

    An empty field is left out (the workflow names it if the action needs it); the certification is a
    checkbox, posted as ``on`` when ticked.
    """
    entered = {name: posted.get(name, "")[:20000] for name in (*names, "note")}
    fields: dict[str, Any] = {}
    for name, value in entered.items():
        if name == "certified":
            fields[name] = value == "on"
        elif value.strip():
            fields[name] = value
    return entered, fields
