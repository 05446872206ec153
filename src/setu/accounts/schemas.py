"""Request and response models of the accounts endpoints: login, the signed-in user."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from setu.schemas import ClassificationName, MarkingOut, Strict, Text


class LoginIn(Strict):
    """Credentials."""

    username: Annotated[Text, Field(min_length=1, max_length=64)]
    password: Annotated[Text, Field(min_length=1, max_length=1024)]


class OrganizationRef(Strict):
    """An organization by id and name."""

    id: int
    name: str


class UserOut(Strict):
    """Who a user is: party, organization, roles, clearance and need-to-know groups."""

    id: int
    username: str
    display_name: str
    party: str
    organization: OrganizationRef
    roles: list[str] = Field(description="Sorted; of admin, analyst, desk_officer, industry, auditor.")
    clearance: ClassificationName
    clearance_level: int = Field(ge=0, le=3)
    groups: list[str] = Field(description="Need-to-know groups (sorted).")
    marking: MarkingOut


class LoginOut(Strict):
    """A new API token (shown once) and the user it signs in."""

    token: str = Field(description="Send it as `Authorization: Bearer <token>`; it cannot be shown again.")
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    csrf_token: str = Field(
        description="For a browser that signs API calls with the session cookie instead of the token: send it as "
        "the `X-CSRF-Token` header on every request but GET, HEAD and OPTIONS."
    )
    user: UserOut
