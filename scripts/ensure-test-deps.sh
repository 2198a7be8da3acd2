#!/usr/bin/env bash
# Installs what the test suite needs that npm does not: Chromium for the HTML viewer test and SPIN
# (with a C compiler) for the twin oracle test. Idempotent and quiet when everything is present.
set -euo pipefail

here=$(dirname "$0")
CHROMIUM=/usr/bin/chromium

if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-test-deps: $CHROMIUM is missing; install the Debian package 'chromium' (as root: apt-get install -y chromium)" >&2
    exit 1
  fi
  echo "ensure-test-deps: installing chromium (for test/report/html.test.ts)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium >/dev/null
  if [ ! -x "$CHROMIUM" ]; then
    echo "ensure-test-deps: apt-get installed chromium but $CHROMIUM is still missing" >&2
    exit 1
  fi
fi

bash "$here/ensure-spin.sh"
