"""Check plugins, grouped by family (active/, later agent/ and kube/)."""
