"""Tear-line stand-ins of stored networks: the service, its API and its pages."""
