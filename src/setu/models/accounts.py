"""User accounts, their sessions and API tokens."""
