"""Framework coordination: pillars, bodies, meetings, decisions, action items and their calendar."""
