"""Ingest fronts: processes that serve ``POST /api/v1/results`` on the site's API port."""
