"""shopagent: evals."""
