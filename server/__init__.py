"""shopagent: server."""
