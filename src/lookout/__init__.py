"""Lookout: monitoring for Kubernetes clusters next to classic servers."""

__version__ = "0.1.0"
