"""Configuration as code: a site's objects as a tree of YAML files (export, diff, apply), and
the import of Nagios object configuration into the same tree."""
