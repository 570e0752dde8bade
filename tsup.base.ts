import type { Options } from 'tsup';

/**
 * The one tsup setup of the repository; each package's `tsup.config.ts` only
 * names its entries. Public entries are built as ESM and CommonJS with
 * declarations for both; ES2022; source maps. Splitting is on for CommonJS too,
 * so entries of one package share one copy of a module (one `C2pError` class
 * for `instanceof` across `@c2p/core` and `@c2p/core/kit`).
 */
export interface BuildEntries {
  /** Public entries, built as ESM and CommonJS with declarations for both. */
  dual?: string[];
  /** Entries only ESM can load (vitest suites): ESM with declarations, no CommonJS. */
  esm?: string[];
  /** Programs that are run, not imported (a bin, a spawned child, an app): ESM, no declarations. */
  programs?: string[];
}

const shared = {
  outDir: 'dist',
  sourcemap: true,
  splitting: true,
  target: 'es2022',
} satisfies Options;

/**
 * The tsup configuration for a package's entries: a list means every entry is
 * public and dual (ESM and CommonJS).
 *
 * With both dual and ESM-only entries there are two builds writing to one
 * `dist`, and tsup would clean it from both at once (each deleting the other's
 * output), so neither cleans: the package's config removes `dist` once before
 * returning them (see packages/testing/tsup.config.ts).
 *
 * @example
 * ```ts
 * export default defineConfig(defineBuild(['src/index.ts']));
 * ```
 */
export function defineBuild(entries: string[] | BuildEntries): Options[] {
  const {
    dual = [],
    esm = [],
    programs = [],
  } = Array.isArray(entries) ? { dual: entries } : entries;
  const esmOnly = [...esm, ...programs];
  const clean = dual.length === 0 || esmOnly.length === 0;
  const builds: Options[] = [];
  if (dual.length > 0) {
    builds.push({ ...shared, entry: dual, format: ['esm', 'cjs'], dts: true, clean });
  }
  if (esmOnly.length > 0) {
    builds.push({
      ...shared,
      entry: esmOnly,
      format: ['esm'],
      dts: esm.length > 0 ? { entry: esm } : false,
      clean,
    });
  }
  return builds;
}
