"""Stored networks (versioned imports), their nodes, edges, bills of materials and products."""
