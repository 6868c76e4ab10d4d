"""Sentiment-aware escalation to a human: frustration scoring, the escalation policy, handoff tickets, copilot."""
