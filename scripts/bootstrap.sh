#!/usr/bin/env bash
# Create or update the project's .venv. Idempotent: reinstalls only when pyproject.toml or the lock changed.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3.11}
[ -x .venv/bin/python ] || "$python" -m venv .venv

stamp=.venv/.shopagent-installed
wanted=$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  # The CPU build of torch 2.13.0 lies on this machine's disk; PyPI's default would be a multi-GB CUDA build.
  links=()
  [ -d /opt/wheels ] && links=(--find-links /opt/wheels)
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "${links[@]}" \
    -c requirements.lock -e ".[dev]"
  echo "$wanted" > "$stamp"
fi
