import { rmSync } from 'node:fs';
import { defineConfig } from 'tsup';
import { defineBuild } from '../../tsup.base.js';

export default defineConfig(() => {
  // Two builds (dual and ESM-only) write to dist/, so tsup.base.ts leaves cleaning to us: once, first.
  rmSync('dist', { recursive: true, force: true });
  return defineBuild({
    dual: ['src/index.ts'],
    // vitest suites: vitest cannot be required, so these are ESM only (README, "Conformance suites").
    esm: [
      'src/adapter-conformance.ts',
      'src/store-conformance.ts',
      'src/inbox-conformance.ts',
      'src/rate-gate-conformance.ts',
    ],
    // The store conformance suite spawns its child program by URL, next to the suite in dist/.
    programs: ['src/cli.ts', 'src/store-conformance-child.ts'],
  });
});
