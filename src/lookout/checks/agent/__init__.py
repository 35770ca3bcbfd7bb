"""Check plugins for the push agent's sections."""
