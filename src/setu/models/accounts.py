"""User accounts, their roles and need-to-know groups, and their session and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from setu.models.base import Base, Marked, utcnow
from setu.models.parties import Organization

ROLES = ("admin", "analyst", "desk_officer", "industry", "auditor")
"""The roles a user may hold (several at once)."""

TOKEN_KINDS = ("session", "api")
"""``session``: the web's cookie; ``api``: a bearer token for the HTTP API."""


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class User(Marked, Base):
    """A person who signs in: one party, one organization, a clearance, need-to-know groups and roles.

    A user is a record too, so it carries a marking (by default unclassified, released to the
    user's own party only). ``username`` is unique regardless of case.
    """

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("clearance BETWEEN 0 AND 3", name="clearance"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    display_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    party_code: Mapped[str] = mapped_column(ForeignKey("parties.code"), nullable=False, index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    clearance: Mapped[int] = mapped_column(Integer, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    """Consecutive failed logins since the last success, lockout or unlock."""
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)

    organization: Mapped[Organization] = relationship(lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )
    group_rows: Mapped[list[UserGroup]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserGroup.group"
    )

    @property
    def roles(self) -> frozenset[str]:
        """The roles the user holds."""
        return frozenset(r.role for r in self.role_rows)

    @property
    def groups(self) -> frozenset[str]:
        """The need-to-know groups the user belongs to."""
        return frozenset(g.group for g in self.group_rows)


# Case-insensitive uniqueness; usernames are ASCII, so lower() agrees between Python, SQLite and PostgreSQL.
Index("uq_users_username_lower", func.lower(User.username), unique=True)


class UserRole(Base):
    """One role a user holds."""

    __tablename__ = "user_roles"
    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="role"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)


class UserGroup(Base):
    """One need-to-know group a user belongs to."""

    __tablename__ = "user_groups"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    group: Mapped[str] = mapped_column(String(64), primary_key=True)


class AuthToken(Base):
    """A session (web cookie) or API (bearer) token. Only the SHA-256 of the token is stored."""

    __tablename__ = "auth_tokens"
    __table_args__ = (CheckConstraint(_one_of("kind", TOKEN_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    """Hex SHA-256 of the token string; the token itself is shown once and never stored."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    pair_id: Mapped[int | None] = mapped_column(
        ForeignKey("auth_tokens.id", ondelete="SET NULL"), nullable=True, index=True
    )
    """The other token of the same login (an API login's session cookie points at its bearer token):
    revoking either at logout revokes both."""

    user: Mapped[User] = relationship(lazy="joined")


class LoginThrottle(Base):
    """Failed logins counted per key in a window: ``account:<username>`` or ``source:<client address>``.

    Keys are usernames as offered (existing or not), so a locked unknown name answers as a locked
    account does. Counts change only by single atomic ``UPDATE`` statements (see
    :mod:`setu.accounts.throttle`), so concurrent logins cannot lose one. Times are Unix seconds.
    """

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    """Attempts charged in the current window (charged before the password is checked)."""
    window_end: Mapped[int] = mapped_column(Integer, nullable=False, default=0, index=True)
    """When the window (or, once the limit is reached, the lockout) ends; a new count starts after it."""
