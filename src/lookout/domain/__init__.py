"""Pure value types and rules: no I/O here."""
