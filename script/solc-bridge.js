#!/usr/bin/env node
// Makes the npm (emscripten) build of solc answer forge like a native solc binary.
// forge only ever calls `solc --version` and `solc --standard-json [--base-path P]
// [--include-path P]... [--allow-paths ...]` with the input on stdin, so that is all
// this bridge implements. Which npm solc it wraps is fixed at install time through
// X402_SOLC_MODULE, set by the launcher that script/setup.sh writes into ~/.svm.
'use strict';
const fs = require('fs');
const path = require('path');

const solcModule = process.env.X402_SOLC_MODULE;
if (!solcModule) {
  process.stderr.write('solc-bridge: X402_SOLC_MODULE is not set; reinstall with script/setup.sh\n');
  process.exit(1);
}
const solc = require(solcModule);

const args = process.argv.slice(2);
if (args.includes('--version') || args.includes('-v')) {
  // Native solc prints "0.8.30+commit.73712a01.Linux.g++"; the npm build says
  // "...Emscripten.clang", which forge would not parse as the requested version.
  const long = solc.version().replace(/\.Emscripten\.clang$/, '.Linux.g++');
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${long}\n`);
  process.exit(0);
}
if (!args.includes('--standard-json')) {
  process.stderr.write('solc-bridge: only --version and --standard-json are supported\n');
  process.exit(1);
}

const roots = [];
for (let i = 0; i < args.length; i++) {
  if ((args[i] === '--base-path' || args[i] === '--include-path') && args[i + 1]) {
    roots.push(args[++i]);
  }
}
roots.push(process.cwd());

function findImports(importPath) {
  const candidates = path.isAbsolute(importPath)
    ? [importPath]
    : roots.map((root) => path.resolve(root, importPath));
  for (const candidate of candidates) {
    try {
      return { contents: fs.readFileSync(candidate, 'utf8') };
    } catch (_) {
      // try the next root
    }
  }
  return { error: `File not found: ${importPath} (searched ${roots.join(', ')})` };
}

const input = fs.readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImports }));
