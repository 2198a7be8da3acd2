#!/usr/bin/env bash
# Installs what the SPIN-comparison benchmark (bench/run.ts) needs that npm does not: the SPIN model
# checker (Debian package 'spin') and a C compiler for the verifiers it generates.
# Idempotent and quiet when everything is present.
set -euo pipefail

if ! command -v cc >/dev/null 2>&1 && ! command -v gcc >/dev/null 2>&1; then
  echo "ensure-spin: no C compiler found; install the Debian package 'gcc' (as root: apt-get install -y gcc)" >&2
  exit 1
fi

if command -v spin >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-spin: 'spin' is missing; install the Debian package 'spin' (as root: apt-get install -y spin)" >&2
  exit 1
fi

echo "ensure-spin: installing spin (for bench/run.ts)" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# apt's chatter (debconf notices included) is shown only if something fails
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends spin; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "ensure-spin: apt-get failed to install spin" >&2
  exit 1
fi

if ! command -v spin >/dev/null 2>&1; then
  echo "ensure-spin: apt-get installed spin but 'spin' is still not on PATH" >&2
  exit 1
fi
