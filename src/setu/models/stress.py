"""Stored scenarios, stress runs and their results."""
