"""The end-to-end task benchmark: tau2 retail tasks run against the real agent with a scripted customer."""
