"""Feedback that teaches the agent: customers' 👍/👎 and "was this solved?", staff edits of the copilot's drafts."""
