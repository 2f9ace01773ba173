#!/usr/bin/env bash
# Set-up shared by `make run` and `make test`: Debian packages (as root, only when missing), the virtual
# environment in .venv with the project and its dev extras, and the compiled English catalog.
# Idempotent and quiet when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1  # browser tests use Debian's chromium, never a download
export PIP_DISABLE_PIP_VERSION_CHECK=1

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# Run a noisy command quietly; show its output only when it fails.
quietly() {
    local log
    log=$(mktemp)
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "failed: $*" >&2
        exit 1
    fi
    rm -f "$log"
}

# --- Debian packages ---------------------------------------------------------------------------------
# chromium: browser tests; fonts-noto-cjk: Chinese text in pages and PDFs; libharfbuzz-subset0: fast PDF
# font subsetting (~0.2 s instead of 11-17 s a page); poppler-utils/zbar-tools: tests read PDFs and QR
# codes back; postgresql: binaries for the tests' throwaway cluster; pango: WeasyPrint.
# chromium-l10n: the browser's own words (the file button) in Chinese; nodejs/npm: axe-core for the
# accessibility checks of the browser tests (the app itself needs no Node). tesseract-ocr(-chi-sim): a test
# reads an invoice photo before and after the phone shrinks it (tests/browser/test_photo_legibility.py).
APT_PACKAGES=(chromium chromium-l10n fonts-noto-cjk libharfbuzz-subset0 poppler-utils zbar-tools postgresql
              libpango-1.0-0 libpangoft2-1.0-0 tesseract-ocr tesseract-ocr-chi-sim)
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(nodejs npm)

PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
    if command -v python3.11 >/dev/null 2>&1; then PY=python3.11; else PY=python3; fi
fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for pkg in "${APT_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
            missing+=("$pkg")
        fi
    done
    # Debian's own python makes virtual environments only with python3-venv (ensurepip's wheels).
    if [[ ! -x .venv/bin/python && "$(command -v "$PY")" == /usr/bin/* ]] \
        && ! dpkg-query -W -f='${Status}' python3-venv 2>/dev/null | grep -q "ok installed"; then
        missing+=(python3-venv)
    fi
fi

if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        say "installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        quietly apt-get update -qq
        quietly apt-get install -y -qq --no-install-recommends "${missing[@]}"
    else
        say "missing Debian packages (run as root to install them): ${missing[*]}" >&2
    fi
fi

# --- Python ------------------------------------------------------------------------------------------
if [[ ! -x .venv/bin/python ]]; then
    say "creating .venv with $PY"
    if ! "$PY" -m venv .venv; then
        rm -rf .venv
        echo "could not create .venv with $PY (on Debian: apt-get install python3-venv)" >&2
        exit 1
    fi
fi

# Reinstall only when the project's requirements changed since the last install.
stamp=".venv/.sanzi-installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [[ ! -e "$stamp" ]]; then
    say "installing the project and its dev tools into .venv"
    quietly .venv/bin/python -m pip install --upgrade pip
    quietly .venv/bin/python -m pip install -e '.[dev]'
    rm -f .venv/.sanzi-installed-*
    touch "$stamp"
fi

# --- Node dev tools (axe-core for the browser tests) ---------------------------------------------------
if [[ ! -f node_modules/axe-core/axe.min.js ]] && command -v npm >/dev/null 2>&1; then
    say "installing axe-core into node_modules/"
    quietly npm ci --no-audit --no-fund
fi

# --- English catalog ---------------------------------------------------------------------------------
for po in finance/translations/*/LC_MESSAGES/messages.po; do
    [[ -e "$po" ]] || continue
    mo="${po%.po}.mo"
    if [[ ! -e "$mo" || "$po" -nt "$mo" ]]; then
        .venv/bin/pybabel -q compile -f -i "$po" -o "$mo"
    fi
done
