"""Stored networks: versioned imports, node lists and searches, neighbourhoods and each user's view."""

from setu.networks.imports import import_network
from setu.networks.reads import (
    Neighbourhood,
    ValueCount,
    filter_suggestions,
    get_network,
    get_node,
    list_materials,
    list_networks,
    list_nodes,
    list_organizations,
    list_sites,
    node_neighbourhood,
)
from setu.networks.views import compiled_view

__all__ = [
    "Neighbourhood",
    "ValueCount",
    "compiled_view",
    "filter_suggestions",
    "get_network",
    "get_node",
    "import_network",
    "list_materials",
    "list_networks",
    "list_nodes",
    "list_organizations",
    "list_sites",
    "node_neighbourhood",
]
