"""Run the CLI as ``python -m setu``."""

from setu.cli import app

app(prog_name="setu")
