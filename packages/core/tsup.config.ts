import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/kit.ts', 'src/node.ts'],
  format: ['esm', 'cjs'],
  // One copy of C2pError for every entry in CJS too, so instanceof holds across them.
  splitting: true,
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
});
