#!/usr/bin/env bash
# Everything promgate's demo and tests need on a fresh Debian/Ubuntu machine, every time:
# Debian packages when missing, then a virtualenv with the package and its dev extras.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
updated=""
apt_install() {
  # The packaged services try to start and warn without systemd; promgate starts its own.
  [ -n "$updated" ] || { $SUDO apt-get update -q; updated=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "$@"
}

# Required: the demo and every integration test run real Prometheus and Pushgateway processes,
# and a stock Debian/Ubuntu python3 has no venv module.
need=()
command -v prometheus >/dev/null && command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-pushgateway >/dev/null || need+=(prometheus-pushgateway)
command -v openssl >/dev/null || need+=(openssl)
"$PYTHON" -c "import ensurepip, venv" 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}"
  apt_install "${need[@]}"
fi
for bin in prometheus prometheus-pushgateway promtool; do
  command -v "$bin" >/dev/null || { echo "setup: $bin is still missing after apt-get install" >&2; exit 1; }
done

# For the HTML screenshot test and the compose validation. Installed one by one so that a
# distribution without one of them (Ubuntu ships Chromium as a snap) still gets the others.
command -v chromium >/dev/null || command -v chromium-browser >/dev/null \
  || apt_install chromium || echo "setup: warning: chromium not installed (the screenshot test will fail)" >&2
command -v docker-compose >/dev/null \
  || apt_install docker-compose || echo "setup: warning: docker-compose not installed (its test is skipped)" >&2

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.promgate-installed"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e '.[dev]'
  echo "$want" > "$stamp"
fi
