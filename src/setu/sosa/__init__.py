"""SoSA priority-delivery requests: the workflow, working-day deadlines, service, API and CLI."""
