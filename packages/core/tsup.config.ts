import { defineConfig } from 'tsup';
import { defineBuild } from '../../tsup.base.js';

// tsup.base.ts splits CJS too, so the entries share one C2pError and instanceof holds across them.
export default defineConfig(defineBuild(['src/index.ts', 'src/kit.ts', 'src/node.ts']));
