#!/usr/bin/env bash
# Supply-chain checks, offline: `cargo deny check` (advisories, bans, licenses, sources, with
# deny.toml) and `cargo audit`, both against the RustSec advisory snapshot in
# RAMPART_ADVISORY_DB (default /work/shared/advisory-db, see its ABOUT.md and SNAPSHOT).
# Installs cargo-deny and cargo-audit when missing. Prints each tool's verdict and exits 1 on
# any finding.
#   scripts/supply-chain.sh
#   RAMPART_ADVISORY_DB=/path/to/advisory-db scripts/supply-chain.sh
set -euo pipefail
cd "$(dirname "$0")/.."
snapshot=${RAMPART_ADVISORY_DB:-/work/shared/advisory-db}
if [ ! -d "$snapshot/crates" ]; then
  echo "no advisory database at $snapshot (set RAMPART_ADVISORY_DB)" >&2
  exit 1
fi
for tool in cargo-deny cargo-audit; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "== installing $tool (cargo install --locked)"
    s=$(date +%s)
    cargo install --locked "$tool"
    echo "== $tool installed in $(( $(date +%s) - s )) s"
  fi
done

# Both tools want a git repository. Build one from the snapshot, once per snapshot commit:
# cargo-deny looks for it under db-path (deny.toml) in a folder named after the default
# advisory URL; cargo-audit takes the path.
rev=$(cut -d' ' -f1 "$snapshot/SNAPSHOT" 2>/dev/null || echo unknown)
db_root=target-advisory-db
db="$db_root/advisory-db-3157b0e258782691"
if [ "$(cat "$db/.rampart-snapshot" 2>/dev/null)" != "$rev" ]; then
  rm -rf "$db"
  mkdir -p "$db"
  cp -R "$snapshot/." "$db/"
  (cd "$db" && git init -q && git add -A &&
    git -c user.name=rampart -c user.email=rampart@localhost commit -q -m "RustSec snapshot $rev")
  echo "$rev" >"$db/.rampart-snapshot"
fi
echo "== advisory database: RustSec snapshot $(cat "$snapshot/SNAPSHOT")"

cargo fetch --locked >/dev/null
failed=0
run() {
  local log rc
  log=$(mktemp)
  set +e
  "$@" >"$log" 2>&1
  rc=$?
  set -e
  tail -n 40 "$log"
  rm -f "$log"
  [ "$rc" = 0 ] || failed=1
}
echo "== cargo deny --offline check (advisories, bans, licenses, sources)"
run cargo deny --offline check --hide-inclusion-graph advisories bans licenses sources
echo "== cargo audit --no-fetch (Cargo.lock, fuzz/Cargo.lock)"
# The one accepted advisory, as in deny.toml: RUSTSEC-2023-0071 (rsa's Marvin attack concerns
# private-key operations; rsa only verifies WebAuthn RS256 signatures here).
accepted=(--ignore RUSTSEC-2023-0071)
run cargo audit --db "$db" --no-fetch --stale -D warnings "${accepted[@]}"
run cargo audit --db "$db" --no-fetch --stale -D warnings "${accepted[@]}" --file fuzz/Cargo.lock
# Positive control: a lock file with a crate version that has an advisory must be flagged.
control=$(mktemp -d)
printf 'version = 4\n\n[[package]]\nname = "totp-rs"\nversion = "1.0.0"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n' >"$control/Cargo.lock"
if cargo audit --db "$db" --no-fetch --stale --file "$control/Cargo.lock" >"$control/out" 2>&1; then
  echo "positive control: totp-rs 1.0.0 was NOT flagged" >&2
  failed=1
else
  echo "positive control: $(grep -o 'RUSTSEC-[0-9-]*' "$control/out" | sort -u | tr '\n' ' ')flagged in totp-rs 1.0.0"
fi
rm -rf "$control"
echo "== supply chain: $(grep -c '^name = ' Cargo.lock) crates checked, failures: $failed"
exit "$failed"
