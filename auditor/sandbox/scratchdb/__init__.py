"""Scratch databases: one module per engine behind interface.py."""
