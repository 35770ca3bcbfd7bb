"""Synthetic journeys, the pure part: the YAML model (``model``), loading with line numbers
(``loader``), ``${name}`` substitution (``template``), assertions and extraction over a
response (``evaluate``), and the one result a run becomes (``report``). The I/O that runs a
journey (HTTP, browser) is in ``lookout.sources.journeys``."""
