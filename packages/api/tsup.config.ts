import { defineConfig } from 'tsup';
import { defineBuild } from '../../tsup.base.js';

export default defineConfig(defineBuild(['src/index.ts']));
