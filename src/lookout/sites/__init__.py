"""Site lifecycle: creating a site directory and running a site."""
