// What several store-sqlite test files need: database files in a temporary folder,
// and another OS process holding a database's write lock.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InboxRecord } from '@c2p/core/kit';
import { afterAll, afterEach } from 'vitest';

/** A temporary folder, removed after the test file. */
export function tempFolder(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `c2p-sqlite-${name}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh database path in `dir` on each call. */
export function databaseFiles(dir: string): () => string {
  let n = 0;
  return () => join(dir, `db-${n++}.db`);
}

const holder = fileURLToPath(new URL('../fixtures/hold-write-lock.mjs', import.meta.url));

/**
 * `holdWriteLock(path, ms)`: another OS process takes the write lock on `path` and
 * keeps it `ms`; resolves with that process once it holds the lock. Every holder
 * still running is killed after each test.
 */
export function lockHolders(): (path: string, ms: number) => Promise<ChildProcess> {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });
  return async (path, ms) => {
    const child = spawn(process.execPath, [holder, path, String(ms)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
      child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('locked')) resolve();
      });
    });
    return child;
  };
}

/** An inbox record of its own resource (`r:<key>`), with an empty payload. */
export const inboxRecord = (key: string, eventType = 'PAYMENT-COMPLETED'): InboxRecord => ({
  key,
  resourceKey: `r:${key}`,
  eventType,
  payload: '{}',
  receivedAt: 1,
  clientIp: null,
});
