#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite: lint, then pytest, on SQLite and on a throwaway PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-deps.sh --browser --postgres
scripts/bootstrap.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ruff check .
# Every store, tool, memory and API test runs on both databases (tests/conftest.py); a cluster given by the caller
# is used as it is, else one is started here and stopped whatever the tests' outcome.
if [ -z "${SHOPAGENT_TEST_POSTGRES_URL:-}" ]; then
  pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/shopagent-pg.XXXXXX")
  trap 'scripts/pg-cluster.sh stop "$pg_dir" >/dev/null 2>&1 || true; rm -rf "$pg_dir"' EXIT
  SHOPAGENT_TEST_POSTGRES_URL=$(scripts/pg-cluster.sh start "$pg_dir")
  export SHOPAGENT_TEST_POSTGRES_URL
fi
.venv/bin/python -m pytest "$@"
