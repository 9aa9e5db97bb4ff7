#!/usr/bin/env node
// Keeps bindings/abi/*.json (the ABIs the Rust crates bind with alloy's `sol!`) equal to what
// `forge build` produces. `node script/abi.js export` rewrites them; `node script/abi.js check`
// exits non-zero, naming the file, when one drifted (CI runs it after forge build).
'use strict';
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
// binding name -> forge artifact candidates (first existing wins).
const SOURCES = {
  X402Settlement: ['X402Settlement.sol/X402Settlement.json', 'IX402Settlement.sol/IX402Settlement.json'],
  EcosystemRegistry: ['EcosystemRegistry.sol/EcosystemRegistry.json', 'IEcosystemRegistry.sol/IEcosystemRegistry.json'],
  Permit2: ['Permit2.sol/Permit2.json'],
  IERC20: ['IERC20.sol/IERC20.json', 'ERC20.sol/ERC20.json'],
  // x402's Permit2 proxies, from the test fixtures implementing the x402 SDK's published ABI
  // (tests/x402proxy/; facilitator/sdk-e2e checks the fixtures' ABI against the SDK's).
  x402ExactPermit2Proxy: ['x402ExactPermit2Proxy.sol/x402ExactPermit2Proxy.json'],
  x402UptoPermit2Proxy: ['x402UptoPermit2Proxy.sol/x402UptoPermit2Proxy.json'],
};

function artifactAbi(name) {
  for (const rel of SOURCES[name]) {
    // forge suffixes an artifact with its compiler version when several compiled it.
    const dir = path.join(ROOT, 'out', path.dirname(rel));
    const base = path.basename(rel, '.json');
    if (!fs.existsSync(dir)) continue;
    const match = fs
      .readdirSync(dir)
      .filter((f) => f === `${base}.json` || (f.startsWith(`${base}.`) && f.endsWith('.json')))
      .sort()
      .pop();
    if (match) {
      return JSON.parse(fs.readFileSync(path.join(dir, match), 'utf8')).abi;
    }
  }
  throw new Error(`no forge artifact for ${name} (looked for out/${SOURCES[name].join(', out/')}): run forge build first`);
}

function render(abi) {
  return JSON.stringify(abi, null, 2) + '\n';
}

function main() {
  const mode = process.argv[2];
  if (mode !== 'export' && mode !== 'check') {
    console.error('usage: node script/abi.js export|check');
    process.exit(2);
  }
  const outDir = path.join(ROOT, 'bindings', 'abi');
  fs.mkdirSync(outDir, { recursive: true });
  let drifted = 0;
  for (const name of Object.keys(SOURCES)) {
    const want = render(artifactAbi(name));
    const file = path.join(outDir, `${name}.json`);
    if (mode === 'export') {
      fs.writeFileSync(file, want);
    } else if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== want) {
      console.error(`error: bindings/abi/${name}.json differs from forge build output: run 'node script/abi.js export' and commit it`);
      drifted++;
    }
  }
  process.exit(drifted ? 1 : 0);
}

try {
  main();
} catch (err) {
  console.error(`error: ${err.message}`);
  process.exit(1);
}
