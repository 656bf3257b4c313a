#!/usr/bin/env bash
# Set up .venv (when missing), install smbselect with its test extras, and run the whole
# suite on SQLite and then again on PostgreSQL.
#
# PostgreSQL: SMBSELECT_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/) names a
# server; each run creates its own database there and drops it afterwards. Without a
# reachable server the PostgreSQL run is skipped with a message, except under CI=true,
# where it is a failure. Extra arguments go to pytest (e.g. -k login, -x).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]" -e examples/smbselect-premier

# tests/test_browser.py drives Debian's Chromium through Playwright (never `playwright install`).
if [ ! -x "${SMBSELECT_CHROMIUM:-/usr/bin/chromium}" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing chromium (apt-get) for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "== no Chromium: the browser tests will be skipped (sudo apt-get install chromium)" >&2
  fi
fi

pg_url=${SMBSELECT_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/}
status=0

# The core suite, then the example plugin's own suite (a separate package, as a program
# owner's would be), on one database.
run_suites() {
  SMBSELECT_TEST_DATABASE="$1" .venv/bin/python -m pytest "${@:2}" || status=$?
  SMBSELECT_TEST_DATABASE="$1" .venv/bin/python -m pytest examples/smbselect-premier/tests \
    --rootdir examples/smbselect-premier "${@:2}" || status=$?
}

echo "== smbselect tests on SQLite"
run_suites sqlite "$@"

if .venv/bin/python - "$pg_url" <<'PY'
import asyncio, sys
import asyncpg
dsn = "postgresql://" + sys.argv[1].split("://", 1)[1].rstrip("/") + "/postgres"
async def main():
    conn = await asyncpg.connect(dsn, timeout=5)
    await conn.close()
try:
    asyncio.run(main())
except Exception as exc:
    print(f"PostgreSQL not reachable at {sys.argv[1]}: {exc}", file=sys.stderr)
    sys.exit(1)
PY
then
  echo "== smbselect tests on PostgreSQL ($pg_url)"
  run_suites "$pg_url" "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is required in CI: failing." >&2
  status=1
else
  echo "== SKIPPED the PostgreSQL run: no server at $pg_url (set SMBSELECT_TEST_POSTGRES)."
fi
exit "$status"
