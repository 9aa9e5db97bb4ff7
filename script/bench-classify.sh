#!/usr/bin/env bash
# Benchmarks x402-classifier: creates a fresh database on the PostgreSQL server of DATABASE_URL
# (default postgres://postgres@127.0.0.1:5432/postgres), writes 1,000,000 payments from 50,000
# payers with their funding and settlement transfers into the indexer's tables, classifies them
# from scratch, prints `BENCH classify_1m_seconds <value> s`, and drops the database.
#
#   script/bench-classify.sh [--payments N] [--payers N] [--keep]
#
# To keep a dataset for other benchmarks (e.g. the API's), generate it into a database of your own:
#   x402-classifier-bench --database-url postgres://postgres@127.0.0.1:5432/x402_bench \
#       gen-data --payments 1000000 --payers 50000
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p x402-classifier --bin x402-classifier-bench
exec ./target/release/x402-classifier-bench \
  --database-url "${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}" \
  classify "$@"
