#!/usr/bin/env bash
# Every set-up step the test suite needs, on a fresh Debian/Ubuntu machine:
#   - Debian's chromium (the console's browser tests drive it with Playwright),
#     a Chinese font and chromium's Chinese strings for its screenshots, systemd-analyze and Node.js where missing,
#   - ical.js from npm (the feeds are parsed back by Mozilla's parser),
#   - a venv with reminders and its test extra (pytest, playwright, pgserver, ...).
# Safe to run again: each step is skipped or quick when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
# a Chinese font, or the screenshots show boxes instead of characters
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei)
# chromium's own Chinese strings (the file picker's 选择文件), as the users' browsers show
[ -e /usr/lib/chromium/locales/zh-CN.pak ] || missing+=(chromium-l10n)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
python3 -m venv .venv
.venv/bin/pip install -q -e '.[test]'
