"""Active checks: runners that execute check jobs (embedded now, NATS workers later)."""
