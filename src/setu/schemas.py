"""Response and input pieces every HTTP router shares: error bodies, markings, page banners, safe text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from setu.sharing.markings import LEVELS

MAX_ID = 2**31 - 1
"""The largest record id (and offset) the API accepts: ids are 32-bit integers in both databases."""


def _clean_text(value: str) -> str:
    """Refuse text no database column can hold: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


Text = Annotated[str, AfterValidator(_clean_text)]
"""A string safe to store and to compare in SQL (no NUL, valid UTF-8)."""

ClassificationName = Annotated[str, Field(json_schema_extra={"enum": list(LEVELS.values())})]


class Strict(BaseModel):
    """Base of every API model: unknown fields are refused on input and never appear on output."""

    model_config = ConfigDict(extra="forbid")


class ProblemOut(Strict):
    """One thing wrong with the input: where it is (file, row, column, or request field) and what was expected."""

    where: str = Field(description="File, sheet, row and column, or the request field (e.g. `query.limit`).")
    message: str


class ErrorBody(Strict):
    """Every error answer: a message, and for bad input each problem found."""

    detail: str
    problems: list[ProblemOut] | None = Field(
        default=None, description="Every problem found, for 422 answers on input; absent otherwise."
    )


class MarkingOut(Strict):
    """A record's marking as every item of every answer carries it (frozen: the items of an answer share one)."""

    model_config = ConfigDict(frozen=True)

    classification: ClassificationName = Field(description="UNCLASSIFIED, RESTRICTED, CONFIDENTIAL or SECRET.")
    banner: str = Field(description="The marking as users read it, e.g. `RESTRICTED // REL TO IN, US // NTK ENGINE`.")
    releases: list[str] = Field(description="Parties the record is released to (sorted).")
    national_only: bool = Field(description="Only users of the originating party may read it.")
    groups: list[str] = Field(description="Need-to-know groups a reader must belong to (sorted).")


class PageBanner(Strict):
    """The banner of a page: the most restrictive marking of the items on it."""

    banner: str = Field(description="Banner of the most restrictive combination of the items' markings.")
    classification: ClassificationName = Field(description="The highest classification among the items.")


class Paged(PageBanner):
    """A page of a longer list: where it starts, its size limit and how many items match in all."""

    total: int = Field(ge=0, description="How many visible items match in all.")
    offset: int = Field(ge=0)
    limit: int = Field(ge=1)


class Health(Strict):
    """The server answers and its database is reachable."""

    status: str
    version: str


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "Not authenticated, or the token is invalid, expired or revoked."},
    403: {"model": ErrorBody, "description": "The user lacks the role the operation requires."},
    404: {"model": ErrorBody, "description": "No such record, or one the user may not see (answered alike)."},
    422: {"model": ErrorBody, "description": "Bad input; `problems` lists each problem."},
    503: {"model": ErrorBody, "description": "The database is busy or unreachable; retry (see Retry-After)."},
}
"""The error answers every authenticated operation may give."""


def utc(value: datetime) -> datetime:
    """A stored time as an aware UTC time (SQLite hands them back naive).

    Parameters
    ----------
    value
        The time.

    Returns
    -------
    datetime
        The same instant, in UTC.
    """
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_or_none(value: datetime | None) -> datetime | None:
    """:func:`utc` of a time that may be missing.

    Parameters
    ----------
    value
        The time, or None.

    Returns
    -------
    datetime or None
        The time in UTC, or None.
    """
    return None if value is None else utc(value)
