"""Other monitoring systems, spoken in their own terms (issue 14): Alertmanager."""
