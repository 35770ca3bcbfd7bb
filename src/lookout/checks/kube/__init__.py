"""Check plugins for Kubernetes objects."""
