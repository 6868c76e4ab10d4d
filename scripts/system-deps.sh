#!/usr/bin/env bash
# System packages: a C++ compiler (llama.cpp's build); with --browser also Debian's Chromium (browser tests) and a
# fonts with Chinese glyphs and emoji (without them the widget's Chinese and its 👍/👎 show as empty boxes).
set -euo pipefail
missing=()
[ "${1:-}" = "--browser" ] && { [ -x /usr/bin/chromium ] || missing+=(chromium); }
[ "${1:-}" = "--browser" ] && { [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei); }
[ "${1:-}" = "--browser" ] && { [ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji); }
command -v g++ >/dev/null || missing+=(g++)
command -v python3.11 >/dev/null || missing+=(python3.11 python3.11-venv)
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "Installing ${missing[*]} with apt-get..."
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
