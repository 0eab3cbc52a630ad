#!/usr/bin/env bash
# One command on a fresh machine: install, ingest the sample corpus into ./data (skipped
# when unchanged), create the first admin account, then start the app on the embedded
# defaults (Qdrant Edge + SQLite). KB_DEMO=1 adds demo users, quizzes and hours.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
CORPUS=${KB_SAMPLE_CORPUS:-../shared/corpus/sample}
if [ -d "$CORPUS" ]; then
  .venv/bin/kb ingest "$CORPUS"
else
  echo "note: sample corpus not found at $CORPUS (set KB_SAMPLE_CORPUS); starting with what ./data holds" >&2
fi
# Optional background index (README "Out-of-scope questions and the background index"): the
# laws this knowledge base does not hold, e.g. KB_BACKGROUND_CORPUS=../shared/corpus/national
# (≈ 1 h the first time on 2 cores, resumable; unchanged files are skipped afterwards).
# Always a folder of its own (Qdrant Edge, its own records file), whatever the knowledge base uses.
if [ -n "${KB_BACKGROUND_CORPUS:-}" ]; then
  BACKGROUND=${KB_BACKGROUND_DIR:-${KB_DATA_DIR:-data}/background}
  KB_QDRANT_URL= KB_DATABASE_URL= KB_DATA_DIR="$BACKGROUND" .venv/bin/kb ingest "$KB_BACKGROUND_CORPUS" \
    || echo "note: some background files were not ingested (listed above)" >&2
  if KB_QDRANT_URL= KB_DATA_DIR="$BACKGROUND" .venv/bin/kb docs 2>/dev/null | tail -n 1 | grep -qv '^0 documents'; then
    export KB_BACKGROUND_DIR=$BACKGROUND
  else
    echo "warning: no background index at $BACKGROUND; starting without one" >&2
    unset KB_BACKGROUND_DIR
  fi
fi
# The first admin account: KB_ADMIN_PASSWORD, or a generated password printed once here.
.venv/bin/kb users bootstrap
# Optional demo data (units, users, quizzes, hours) so every page has something to show.
if [ "${KB_DEMO:-0}" = 1 ]; then .venv/bin/kb demo; fi
exec .venv/bin/streamlit run app/main.py --server.headless true --server.port "${PORT:-8501}" \
  --browser.gatherUsageStats false
