"""Alertmanager, both ways: its webhook makes passive services; acks and downtimes of those
services become silences, and silences made in Alertmanager acknowledge them in Lookout."""
