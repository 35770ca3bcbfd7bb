"""Chat-ops: the Zulip bot turns commands and reactions into actions and answers in the thread."""
