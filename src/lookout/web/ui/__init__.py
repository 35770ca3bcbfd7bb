"""The operator's web UI: server-rendered pages on the same actions module as the API."""
