"""shopagent: agent."""
