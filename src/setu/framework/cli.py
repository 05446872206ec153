"""`setu framework`: the framework domain from the command line."""

from __future__ import annotations

import typer

framework_app = typer.Typer(
    help="Framework coordination: pillars, bodies, meetings, decisions, action items.", no_args_is_help=True
)
