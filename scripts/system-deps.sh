#!/usr/bin/env bash
# System packages: a C++ compiler (llama.cpp's build); with --browser also Debian's Chromium (browser tests) and a
# fonts with Chinese glyphs and emoji (without them the widget's Chinese and its 👍/👎 show as empty boxes); with
# --postgres Debian's PostgreSQL server (the tests run every store test on a throwaway cluster: scripts/pg-cluster.sh).
set -euo pipefail
browser=false postgres=false
for flag in "$@"; do
  case "$flag" in
  --browser) browser=true ;;
  --postgres) postgres=true ;;
  *) echo "usage: $0 [--browser] [--postgres]" >&2; exit 2 ;;
  esac
done
missing=()
if $browser; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
  [ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)
fi
if $postgres; then
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
fi
command -v g++ >/dev/null || missing+=(g++)
command -v python3.11 >/dev/null || missing+=(python3.11 python3.11-venv)
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "Installing ${missing[*]} with apt-get..."
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
