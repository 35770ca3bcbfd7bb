"""Versioned models of what crosses a boundary (API bodies)."""
