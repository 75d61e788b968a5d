#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, then fmt, clippy and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
[ -x /usr/bin/skopeo ] || need+=(skopeo)
command -v tmux >/dev/null || need+=(tmux)      # end-to-end tests of the TUI
command -v pkill >/dev/null || need+=(procps)
[ -x /usr/bin/openssl ] || need+=(openssl)          # the TLS tests make certificates as the lab guides do
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${need[*]} (Debian packages)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "missing: ${need[*]}; install them with: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
fi
# Debian's package also starts a registry service on :5000; the tests run their own on free ports.

# moto (PyPI) emulates the ECR API for the ECR tests; it goes into a virtualenv under target/.
if ! python3 -c 'import moto.server' 2>/dev/null; then
  venv=target/moto-venv
  if ! "$venv/bin/python" -c 'import moto.server' 2>/dev/null; then
    echo "installing moto[server] into $venv (PyPI)"
    python3 -m venv "$venv" || { echo "python3 -m venv failed; on Debian: apt-get install python3-venv" >&2; exit 1; }
    "$venv/bin/pip" install --quiet 'moto[server]==5.2.1'
  fi
  export REGTUI_MOTO_PYTHON="$PWD/$venv/bin/python"
fi

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo clippy --no-default-features --all-targets -- -D warnings"
cargo clippy --no-default-features --all-targets --locked -- -D warnings
echo "== cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --locked --lib --bins --tests 2>&1 | tee "$log"
# One closing line for the whole run (the per-binary lines above include a binary with no tests).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "regtui: %d passed, %d failed\n", p, f; if (p == 0) exit 1 }' "$log"
