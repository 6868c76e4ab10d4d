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
  # llama-cpp-python ships as source only: compile it once per machine into a wheelhouse outside the clone.
  llama=$(grep -o 'llama-cpp-python==[0-9.]*' pyproject.toml)
  wheelhouse=${SHOPAGENT_WHEELHOUSE:-$HOME/.cache/shopagent/wheels}
  mkdir -p "$wheelhouse"
  if ! ls "$wheelhouse"/llama_cpp_python-"${llama#*==}"-*.whl >/dev/null 2>&1; then
    echo "Compiling $llama once for this machine (about 15 minutes on 2 cores)..."
    CMAKE_ARGS="-DLLAVA_BUILD=OFF" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
      .venv/bin/python -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$wheelhouse" "$llama"
  fi
  links+=(--find-links "$wheelhouse")
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "${links[@]}" \
    -c requirements.lock -e ".[dev]"
  echo "$wanted" > "$stamp"
fi
