"""Setu: map multi-tier defense supply chains and stress-test them (PI, TTS, REI)."""

from setu import errors
from setu.notebook import Scenario, explain, load_network, run, scenarios

__all__ = ["Scenario", "errors", "explain", "load_network", "run", "scenarios"]
__version__ = "0.1.0"
