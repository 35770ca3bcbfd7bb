"""The ``lookout`` command line: thin typer commands over the REST API."""
