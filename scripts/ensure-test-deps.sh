#!/usr/bin/env bash
# npm test's pretest: what the suite needs beyond npm -- Chromium (test/report/html.test.ts), SPIN
# with a C compiler (test/spin/twins.test.ts) and redis-server (test/cli/queue.test.ts) -- looked up on PATH. A missing one is installed only
# where that is possible (root with apt-get); otherwise its tests are skipped, and this says how to
# install it. PTCHECK_REQUIRE_TEST_DEPS=1 (CI) makes anything still missing an error.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }
have_chromium() { [ -n "${PTCHECK_CHROMIUM:-}" ] || have chromium || have chromium-browser || have google-chrome-stable || have google-chrome; }
have_spin() { have spin && { have cc || have gcc; }; }
can_apt() { [ "$(id -u)" -eq 0 ] && have apt-get; }

apt_install() {
  echo "ensure-test-deps: installing $* (apt-get)" >&2
  local log
  log=$(mktemp)
  # apt's chatter is shown only if something fails
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "ensure-test-deps: apt-get failed to install $*" >&2
  fi
  rm -f "$log"
}

missing=0
if ! have_chromium; then
  if can_apt; then apt_install chromium; fi
  if ! have_chromium; then
    echo "ensure-test-deps: chromium is not on PATH: test/report/html.test.ts will be SKIPPED (to run it: apt-get install -y chromium as root, or set PTCHECK_CHROMIUM=/path/to/chromium)" >&2
    missing=1
  fi
fi
if ! have_spin; then
  if can_apt; then
    pkgs=()
    have spin || pkgs+=(spin)
    have cc || have gcc || pkgs+=(gcc)
    apt_install "${pkgs[@]}"
  fi
  if ! have_spin; then
    echo "ensure-test-deps: spin or a C compiler is not on PATH: test/spin/twins.test.ts will be SKIPPED (to run it: apt-get install -y spin gcc as root)" >&2
    missing=1
  fi
fi
if ! have redis-server; then
  if can_apt; then apt_install redis-server; fi
  if ! have redis-server; then
    echo "ensure-test-deps: redis-server is not on PATH: the queue test in test/cli/queue.test.ts will be SKIPPED (to run it: apt-get install -y redis-server as root)" >&2
    missing=1
  fi
fi
if [ "$missing" -ne 0 ] && [ "${PTCHECK_REQUIRE_TEST_DEPS:-}" = 1 ]; then
  echo "ensure-test-deps: PTCHECK_REQUIRE_TEST_DEPS=1: these tests must not be skipped" >&2
  exit 1
fi
exit 0
