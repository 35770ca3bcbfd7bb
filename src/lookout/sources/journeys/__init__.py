"""Running synthetic journeys: HTTP steps with httpx (one client, so cookies carry over),
browser steps with Playwright and the system Chromium. The pure model and evaluation are in
``lookout.checks.journeys``."""
