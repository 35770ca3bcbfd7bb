"""Kubernetes tokens at rest are sealed by the site's vault, which moved to
``lookout.storage.vault`` when notification channels began to seal their secrets with the same
key; this name stays for code that imported it from here."""

from __future__ import annotations

from lookout.storage.vault import KEY_FILE, Vault

__all__ = ["KEY_FILE", "Vault"]
