#!/usr/bin/env bash
# Set up (idempotent) and run shopagent on the bundled demo store.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-deps.sh
scripts/bootstrap.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# The demo: "Sign in as a demo customer" on the storefront, and sign-in code mails shown at /dev/outbox.
export SHOPAGENT_DEMO=${SHOPAGENT_DEMO:-true}
exec .venv/bin/shopagent run "$@"
