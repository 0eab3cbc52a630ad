#!/usr/bin/env bash
# The whole test suite, as CI runs it: install, lint, then pytest (slow tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Records tests run on SQLite and PostgreSQL: start a throwaway server unless one is given.
if [ -z "${KB_TEST_POSTGRES_URL:-}" ]; then
  KB_TEST_POSTGRES_URL=$(bash scripts/postgres.sh)
  export KB_TEST_POSTGRES_URL
  trap 'bash scripts/postgres.sh stop' EXIT
fi
# The end-to-end test drives a real headless Chromium.
bash scripts/browser.sh
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
