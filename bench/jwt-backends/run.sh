#!/usr/bin/env bash
# Builds the probe once per jsonwebtoken backend and runs each RUNS times,
# alternating, with the same keys: bench/jwt-backends/run.sh
# Needs a C compiler (aws-lc-sys) and openssl (to make the keys).
set -euo pipefail
cd "$(dirname "$0")"
RUNS="${RUNS:-3}"
keys=$(mktemp -d)
trap 'rm -rf "$keys"' EXIT
openssl genpkey -algorithm ed25519 -out "$keys/ed25519.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$keys/p256.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$keys/rsa.pem" 2>/dev/null
for k in ed25519 p256 rsa; do openssl pkey -in "$keys/$k.pem" -pubout -out "$keys/$k.pub.pem"; done
for backend in rust_crypto aws_lc_rs; do
  cargo build -q --release --features "$backend" --target-dir "target/$backend"
done
out=../results/jwt-backends.jsonl
: >"$out"
for i in $(seq 1 "$RUNS"); do
  for backend in rust_crypto aws_lc_rs; do
    "target/$backend/release/jwt-backends" "$keys" | tee -a "$out"
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("\n| operation | rust_crypto | aws_lc_rs |\n|---|---:|---:|")
for alg in ("EdDSA", "ES256", "RS256"):
    for op in ("verify", "sign"):
        med = {b: statistics.median(r[f"{op}_us"] for r in rows if r["alg"] == alg and r["backend"] == b)
               for b in ("rust_crypto", "aws_lc_rs")}
        label = f"{alg} {op}" + (" (`encode`: parses the key per call)" if op == "sign" else " (`decode`)")
        print(f"| {label} | {med['rust_crypto']:,.1f} µs | {med['aws_lc_rs']:,.1f} µs |")
PY
