"""HTTP: the REST API (``api/``) and the server-rendered web UI (``ui/``)."""
