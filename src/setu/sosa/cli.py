"""`setu sosa`: the sosa domain from the command line."""

from __future__ import annotations

import typer

sosa_app = typer.Typer(
    help="SoSA priority-delivery requests: file, decide, order, accept or reject, deliver, escalate.",
    no_args_is_help=True,
)
