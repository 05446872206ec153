"""The industrial-base registry (sites, capabilities, capacity) and the partner-source search."""
