// Every ```ts block of a README, as a module to typecheck. A block that continues
// an earlier one may be preceded by a hidden comment holding what it assumes:
//
//   <!-- ts-context
//   import { createWebhooks } from '@c2p/core';
//   declare const webhooks: ReturnType<typeof createWebhooks>;
//   -->
//   ```ts
//
// The context is prepended; the block itself is checked exactly as written.
// A complete program in a ```js block, marked `<!-- runs-as: server.mjs -->`, is run
// as written instead (extractRunnable).

import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';

export function extractSnippets(readmePath) {
  const text = readFileSync(readmePath, 'utf8');
  const name = `${basename(dirname(readmePath))}-${basename(readmePath, '.md')}`;
  const pattern = /(?:<!--\s*ts-context\n([\s\S]*?)-->\n)?```ts\n([\s\S]*?)^```/gm;
  const snippets = [];
  for (const match of text.matchAll(pattern)) {
    const fence = match.index + match[0].indexOf('```ts');
    const line = text.slice(0, fence).split('\n').length;
    const context = match[1] ?? '';
    snippets.push({
      file: `${name}-L${line}.mts`,
      line,
      source: `// ${basename(readmePath)} line ${line}\n${context}\n${match[2]}\nexport {};\n`,
    });
  }
  return snippets;
}

/**
 * The README's complete programs: each ```js block preceded by `<!-- runs-as: <file> -->`,
 * to be written to that file and run exactly as written.
 */
export function extractRunnable(readmePath) {
  const text = readFileSync(readmePath, 'utf8');
  const pattern = /<!--\s*runs-as:\s*(\S+)\s*-->\n```js\n([\s\S]*?)^```/gm;
  return [...text.matchAll(pattern)].map((match) => ({ file: match[1], source: match[2] }));
}
