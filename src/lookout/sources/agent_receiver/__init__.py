"""The agent receiver: registration and mTLS pushes from lookout-agent on its own TLS listener."""
