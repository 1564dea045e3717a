"""Test helpers that build small local artefacts (no downloads)."""
