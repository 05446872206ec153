"""`setu registry`: the registry domain from the command line."""

from __future__ import annotations

import typer

registry_app = typer.Typer(
    help="The industrial-base registry: sites, capabilities, capacity; find partner sources.", no_args_is_help=True
)
