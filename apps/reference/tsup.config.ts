import { rmSync } from 'node:fs';
import { defineConfig } from 'tsup';
import { defineBuild } from '../../tsup.base.js';

export default defineConfig(() => {
  // Two builds write to dist/, so neither cleans it (each would delete the other's output): once, first.
  rmSync('dist', { recursive: true, force: true });
  return [
    ...defineBuild({ programs: ['src/main.ts'] }).map((build) => ({ ...build, clean: false })),
    {
      // The admin page's script and, imported by it, its styles: dist/admin.js and dist/admin.css,
      // read by the admin (src/admin/admin-page.ts) from beside the program.
      entry: { admin: 'src/admin/page/page-script.ts' },
      outDir: 'dist',
      format: ['iife'],
      platform: 'browser',
      target: 'es2022',
      outExtension: () => ({ js: '.js' }),
      clean: false,
    },
  ];
});
