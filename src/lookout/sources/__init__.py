"""Data sources: the I/O edges that produce sections or results."""
