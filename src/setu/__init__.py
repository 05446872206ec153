"""Setu: map multi-tier defense supply chains and stress-test them (PI, TTS, REI)."""

from setu.api import explain, load_network, run, scenarios

__all__ = ["explain", "load_network", "run", "scenarios"]
__version__ = "0.1.0"
