"""Setu's STIX object types registered with the ``stix2`` library, so that every received object is validated by it.

The classes are made from :data:`setu.federation.kinds.KINDS` (property types from the model's columns,
references as STIX identifiers of the kind they point at), plus the batch header and the receipt.
Properties are optional to ``stix2`` because a retraction carries none; the receiver checks that a
live record has every one.
"""

from __future__ import annotations

from typing import Any

import stix2
from sqlalchemy import JSON, Boolean, Float, Integer
from stix2.exceptions import STIXError
from stix2.properties import (
    BooleanProperty,
    FloatProperty,
    IntegerProperty,
    Property,
    ReferenceProperty,
    StringProperty,
    TimestampProperty,
)

from setu.federation.identity import FederationError
from setu.federation.kinds import BY_NAME, KINDS, RECEIPT_TYPE, Kind

BATCH_TYPE = "x-setu-batch"


def _property(kind: Kind, column: str) -> Property:
    column_type = kind.model.__table__.columns[column].type
    if isinstance(column_type, Boolean):
        return BooleanProperty()
    if isinstance(column_type, Integer):
        return IntegerProperty()
    if isinstance(column_type, Float):
        # Non-finite capacities cross as the strings JSON has for them (setu.federation.feed.json_value).
        return _FloatOrName()
    if isinstance(column_type, JSON):
        return _Json()
    return StringProperty()  # text, and dates in ISO 8601 (setu.federation.kinds.to_json)


class _FloatOrName(FloatProperty):  # type: ignore[misc]
    def clean(self, value: Any, allow_custom: bool = False) -> Any:
        if value in ("Infinity", "-Infinity", "NaN"):
            return value, False
        return super().clean(value, allow_custom)


class _Json(Property):  # type: ignore[misc]
    """A JSON column's value: a list or an object of plain values (or null)."""

    def clean(self, value: Any, allow_custom: bool = False) -> Any:
        if value is not None and not isinstance(value, list | dict):
            raise ValueError(f"must be a list or an object, got {type(value).__name__}")
        return value, False


def _register(stix_type: str, properties: list[tuple[str, Property]]) -> None:
    # Registered as plain custom types: stix2 keeps one class per extension definition, and Setu's one
    # definition covers every type; the objects still carry it in their ``extensions``.
    stix2.v21.CustomObject(stix_type, properties)(type(stix_type, (), {}))


def _register_all() -> None:
    for kind in KINDS:
        if kind.standard:
            continue
        props: list[tuple[str, Property]] = [(prop, _property(kind, column)) for column, prop in kind.fields.items()]
        props += [(ref.prop, ReferenceProperty(valid_types=[BY_NAME[ref.kind].stix_type])) for ref in kind.references]
        _register(kind.stix_type, props)
    _register(
        RECEIPT_TYPE,
        [
            ("retracted_ref", ReferenceProperty(invalid_types=[RECEIPT_TYPE, BATCH_TYPE], required=True)),
            ("retraction_seq", IntegerProperty(required=True)),
            ("applied", TimestampProperty(required=True)),
        ],
    )
    _register(
        "x-setu-cosignature",
        [
            ("checkpoint_party", StringProperty(required=True)),
            ("tree_size", IntegerProperty(required=True)),
            ("root_hash", StringProperty(required=True)),
            ("issued_at", StringProperty(required=True)),
            ("key_id", StringProperty(required=True)),
            ("cosignature", StringProperty(required=True)),
        ],
    )
    _register(
        BATCH_TYPE,
        [
            ("from_party", StringProperty(required=True)),
            ("to_party", StringProperty(required=True)),
            ("first_seq", IntegerProperty(required=True)),
            ("last_seq", IntegerProperty(required=True)),
            ("count", IntegerProperty(required=True)),
            ("objects_digest", StringProperty(required=True)),
        ],
    )


_register_all()


def validate(obj: dict[str, Any], where: str) -> None:
    """Validate ``obj`` with ``stix2`` (Setu's types registered), or raise a precise :class:`FederationError`."""
    try:
        stix2.parse(obj, allow_custom=True)  # custom: references between Setu's own types
    except (STIXError, ValueError, TypeError) as error:
        raise FederationError(f"{where} is not valid STIX 2.1: {error}") from None
