#!/usr/bin/env bash
# Reruns every benchmark of BENCHMARKS.md and regenerates its tables and chart:
#   bench/run-all.sh                  # 3 runs of everything, then a 3-minute soak (about 25 minutes)
#   RUNS=1 DURATION=3 SOAK=0 bench/run-all.sh  # a quick smoke run (no soak)
# Installs what it needs when missing (wrk, util-linux taskset, matplotlib),
# starts the local PostgreSQL cluster if there is one (as .ci/run does), runs
# the criterion micro-benchmarks RUNS times, then the load benchmark
# (e2e-tests `loadgen`) against the real release binaries, then bench/report.py.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-3}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
CHAINS="${CHAINS:-16}"
SOAK="${SOAK:-180}"  # seconds of mixed load after the benchmarks; 0 skips it
OUT=bench/results
mkdir -p "$OUT" docs

step() { printf '\n==> %s\n' "$*"; }

# --- tools ------------------------------------------------------------------
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v taskset >/dev/null 2>&1 || missing+=(util-linux)
if ((${#missing[@]})); then
  step "installing ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    sudo apt-get update -qq >/dev/null
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi
if ! python3 -c 'import matplotlib' 2>/dev/null; then
  step "installing matplotlib (pip)"
  python3 -m pip install --quiet matplotlib || python3 -m pip install --quiet --user matplotlib
fi

# --- PostgreSQL (optional) ----------------------------------------------------
if command -v pg_isready >/dev/null 2>&1; then
  export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
  if ! pg_isready -q -h 127.0.0.1 -p 5432 && [ -d /etc/postgresql ]; then
    step "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL not reachable: SQLite only"; unset TEST_DATABASE_URL; }
fi

# --- the machine --------------------------------------------------------------
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "kernel: $(uname -sr)"
  echo "rustc: $(rustc -V)"
  echo "wrk: $(wrk --version 2>&1 | head -n1 || true)"
  echo "postgres: $( (postgres --version 2>/dev/null || echo none) | head -n1)"
  echo "load before start: $(cut -d' ' -f1-3 /proc/loadavg)"
  lscpu
} >"$OUT/machine.txt"

# --- micro-benchmarks -----------------------------------------------------------
step "building the release binaries and benchmarks"
# Two commands: `--bin loadgen` would limit the first to that one binary.
cargo build --release -p auth-server -p resource-server --bins
cargo build --release -p e2e-tests --bin loadgen
cargo bench --no-run -p auth-server --bench tokens --bench storage
cargo bench --no-run -p resource-server --bench verify_cached

for i in $(seq 1 "$RUNS"); do
  step "criterion, run $i of $RUNS"
  crit=(-- --save-baseline "run$i" --warm-up-time 1 --measurement-time 3 --noplot)
  cargo bench -q -p auth-server --bench tokens --bench storage "${crit[@]}"
  cargo bench -q -p resource-server --bench verify_cached "${crit[@]}"
done

# --- load benchmark -------------------------------------------------------------
step "load benchmark ($RUNS runs of ${DURATION}s per scenario)"
cargo run -q --release -p e2e-tests --bin loadgen -- \
  --runs "$RUNS" --duration "$DURATION" --connections "$CONNECTIONS" --chains "$CHAINS" \
  --out "$OUT/loadgen.json"

echo "load after the load benchmark: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"

# --- soak -----------------------------------------------------------------------
if [ "$SOAK" -gt 0 ]; then
  step "soak: ${SOAK}s of mixed load, every answer checked, memory sampled"
  cargo run -q --release -p e2e-tests --bin loadgen -- --soak "$SOAK" --out "$OUT/soak.json"
else
  rm -f "$OUT/soak.json"  # no stale soak in the report
fi

# --- report -----------------------------------------------------------------------
step "report"
python3 bench/report.py --runs "$RUNS"
echo "tables: $OUT/summary.md   chart: docs/benchmarks.png"
