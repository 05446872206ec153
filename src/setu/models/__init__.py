"""SQLAlchemy models of every stored record; importing this package registers them all on Base.metadata."""

from setu.models import accounts, audit, federation, framework, jobs, networks, registry, revisions, sosa, stress
from setu.models.base import Base, Marked, Marking, MarkingGroup, MarkingOwner, MarkingRelease, Owned
from setu.models.parties import Organization, Party

__all__ = [
    "Base",
    "Marked",
    "Marking",
    "MarkingGroup",
    "MarkingOwner",
    "MarkingRelease",
    "Organization",
    "Owned",
    "Party",
    "accounts",
    "audit",
    "federation",
    "framework",
    "jobs",
    "networks",
    "registry",
    "revisions",
    "sosa",
    "stress",
]
