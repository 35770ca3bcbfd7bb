"""HTTP: the REST API (``api/``) and, later, the web UI."""
