#!/usr/bin/env node
// Core's main entry must run where Node's modules do not exist (Workers, Deno
// without compat, browsers): its built ESM and CJS files, and every chunk they
// load, may import no `node:` module nor a bare Node built-in. `@c2p/core/node`
// is where Node-only code lives.

import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { assert, createReport, readJson, root } from './lib.mjs';

const report = createReport('core-entry');
const coreDir = join(root, 'packages', 'core');
const entry = readJson(join(coreDir, 'package.json')).exports['.'];
const builtins = new Set(builtinModules);
const specifiers = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']([^"']+)["']/g;

/** Every module the file loads, following relative imports; answers the bare ones. */
function bareImports(file, seen = new Set()) {
  if (seen.has(file)) return [];
  seen.add(file);
  const bare = [];
  for (const [, specifier] of readFileSync(file, 'utf8').matchAll(specifiers)) {
    if (specifier.startsWith('.'))
      bare.push(...bareImports(resolve(dirname(file), specifier), seen));
    else bare.push(specifier);
  }
  return bare;
}

for (const condition of ['import', 'require']) {
  const target = entry[condition]?.default ?? entry[condition];
  await report.check(`@c2p/core (${condition}: ${target}) loads no node: module`, () => {
    assert(typeof target === 'string', `exports["."].${condition} has no file`);
    const imports = [...new Set(bareImports(join(coreDir, target)))].sort();
    const node = imports.filter((s) => s.startsWith('node:') || builtins.has(s.split('/')[0]));
    assert(node.length === 0, `it imports ${node.join(', ')}`);
    report.log(`bare imports: ${imports.join(', ') || 'none'}`);
  });
}
report.finish();
