"""Labelled fixtures for the precision harness."""
