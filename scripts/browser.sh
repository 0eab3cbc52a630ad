#!/usr/bin/env bash
# Headless Chromium for the end-to-end test and screenshots, from Debian's packages:
# chromium, chromium-driver and fonts-noto-cjk (without the CJK fonts Chinese renders as
# boxes). Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail
missing=()
for pkg in chromium chromium-driver fonts-noto-cjk; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "browser.sh: installing ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
