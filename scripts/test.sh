#!/usr/bin/env bash
# The single test command: every test in the workspace, release profile.
#
# --release on purpose: install.sh has just run `cargo build --release`, so the
# test build reuses those dependency artifacts instead of compiling every
# crate a second time in the dev profile (the slow part on 2 cores).
# --no-fail-fast runs every test binary even when one fails; the exit status is
# still non-zero then. Threads: SKIFF_TEST_THREADS (default 2, one per core).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi

THREADS=${SKIFF_TEST_THREADS:-2}
LOG=$(mktemp "${TMPDIR:-/tmp}/skiff-test.XXXXXX")
trap 'rm -f "$LOG"' EXIT

set +e
CARGO_TERM_COLOR=never RUST_BACKTRACE=${RUST_BACKTRACE:-1} \
    cargo test --release --locked --workspace --no-fail-fast -- --test-threads="$THREADS" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
set -e

echo
echo "== test summary =="
grep -E '^test result:' "$LOG" || true
# Add up the per-binary lines into one closing line.
read -r passed failed ignored < <(awk '
    /^test result:/ {
        for (i = 1; i <= NF; i++) {
            v = $i; gsub(/[^0-9]/, "", v)
            if ($(i+1) ~ /^passed/)  p += v
            if ($(i+1) ~ /^failed/)  f += v
            if ($(i+1) ~ /^ignored/) g += v
        }
    }
    END { printf "%d %d %d\n", p, f, g }' "$LOG")

if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "cargo test exited $rc with no failed test counted: a build error, or a test binary that crashed" >&2
    exit "$rc"
fi
echo "$passed passed, $failed failed, $ignored skipped"
if [ "$failed" -ne 0 ]; then exit 1; fi
exit "$rc"
