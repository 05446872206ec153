"""Self-contained HTML reports of stress results."""
