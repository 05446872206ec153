"""The demo: an illustrative India-US defense-industrial base, its users, runs, registry, requests and framework."""
