"""Releasability markings and the one read filter every read path goes through."""
