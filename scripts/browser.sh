#!/usr/bin/env bash
# Make sure a headless browser is here for the end-to-end test (it loads the lab's Voila page and
# takes a screenshot): Debian's chromium. As root on Debian/Ubuntu, install it when missing;
# anywhere else, say what to install. Idempotent. Prints the browser's path.
set -euo pipefail

for name in chromium chromium-browser google-chrome; do
  if command -v "$name" >/dev/null 2>&1; then
    command -v "$name"
    exit 0
  fi
done

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "browser: no chromium here; install it (Debian/Ubuntu: 'sudo apt-get install chromium') and run this again." >&2
  exit 1
fi

echo "browser: installing Debian's chromium" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium
