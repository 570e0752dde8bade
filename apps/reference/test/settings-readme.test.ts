import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { settings, settingsTable } from '../src/config/settings.js';
import { parseConfig } from '../src/config.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** The README's table under "## Settings": from its header row to the first line that is not a row. */
function readmeTable(): string {
  const lines = readme.split('\n');
  const start = lines.indexOf('| setting | default | meaning |');
  expect(start, 'the README has a settings table').toBeGreaterThan(-1);
  const end = lines.findIndex((line, i) => i > start && !line.startsWith('|'));
  return lines.slice(start, end).join('\n');
}

describe("the README's settings table", () => {
  it('is the declarations, row for row: every name, default and meaning', () => {
    expect(readmeTable()).toBe(settingsTable());
  });

  it('names every setting the configuration reads, and nothing else', () => {
    const names = Object.keys(settings);
    const inTable = [...readmeTable().matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(inTable).toEqual(names);
    // Each declared name is really read: a bad value for it stops start-up with a line naming
    // it. Not WEBHOOK_HOST (any address may be bound), nor the password alone (its line names
    // the missing username).
    const free = ['WEBHOOK_HOST', 'C2P_WEBHOOK_PASSWORD'];
    for (const name of names.filter((n) => !free.includes(n))) {
      expect(() => parseConfig({ [name]: ':: not a valid value ::' }), name).toThrow(name);
    }
  });
});
