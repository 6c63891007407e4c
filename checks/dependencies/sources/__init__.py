"""Vulnerability sources, one module each behind sources/interface.py (pip-audit's layout)."""
