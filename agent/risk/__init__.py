"""Risk control: rules as data (rules.toml) decide which of a customer's confirmed actions wait for a person's
approval in the staff console instead of running (guard.py, held in the action's own transaction)."""
