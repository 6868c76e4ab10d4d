"""The store database's Alembic migrations: `env.py`, the revision template and `versions/` (see tools/schema.py)."""
