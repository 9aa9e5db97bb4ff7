# The README's two commands are `make demo` and `make test`; everything else is a building block.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help setup demo test gas abi sqlx openapi bench bench-indexer bench-api bench-classify bench-facilitator bench-lineage

help:
	@echo "make demo   - local devnet, contracts, indexer, classifier, facilitators, API/dashboard, simulated economy (DEMO_ECONOMY=standard|adversarial|combined, DEMO_SCALE=small|medium); Ctrl-C stops"
	@echo "make test   - every test: forge build/test, gas snapshots, Rust tests"
	@echo "make gas    - re-measure gas into snapshots/"
	@echo "make abi    - re-export bindings/abi from forge build"
	@echo "make sqlx   - refresh .sqlx/ (the data of the compile-time checked SQL queries) after changing one or a migration"
	@echo "make openapi - rewrite dashboard/openapi.json (the dashboard's API types) from x402-api"
	@echo "make bench  - every benchmark (bench-indexer, bench-classify, bench-api, bench-facilitator, bench-lineage), BENCH lines"

setup:
	@script/setup.sh

demo:
	@script/demo.sh

test:
	@script/test.sh

gas: setup
	@PATH="$(CURDIR)/node_modules/.bin:$$PATH" forge test --isolate --match-path tests/X402Settlement/gas.t.sol

abi: setup
	@PATH="$(CURDIR)/node_modules/.bin:$$PATH" forge build --quiet && node script/abi.js export

sqlx:
	@script/sqlx-prepare.sh

# The dashboard's wire types are generated from dashboard/openapi.json; api/tests/openapi.rs fails
# when it drifts from the API's types. Built like make test (whole workspace, all targets): a
# narrower build would resolve other dependency features and recompile the dependency tree.
openapi:
	@cargo build --workspace --all-targets --locked --quiet
	@"$${CARGO_TARGET_DIR:-target}/debug/x402-api" openapi > dashboard/openapi.json.tmp
	@mv dashboard/openapi.json.tmp dashboard/openapi.json
	@echo "wrote dashboard/openapi.json"

bench-indexer:
	@script/bench-indexer.sh

bench-classify:
	@script/bench-classify.sh

bench-api:
	@script/bench-api.sh

bench-facilitator:
	@script/bench-facilitator.sh

bench-lineage:
	@script/bench-lineage.sh

bench: bench-indexer bench-classify bench-api bench-facilitator bench-lineage
