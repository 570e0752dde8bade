/**
 * A full disk, for real: the database on a 2 MiB tmpfs this test mounts (it
 * needs root, as `mount` does; it fails, never skips, where it cannot mount).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isC2pError } from '@c2p/core';
import { afterAll, expect, it } from 'vitest';
import { createSqliteInbox } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'c2p-sqlite-full-'));
let mounted = false;
afterAll(() => {
  if (mounted) execFileSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
});

function mountSmallDisk(): void {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(
      `this test mounts a 2 MiB tmpfs at ${dir} and cannot (run it as root): ${String(error)}`,
    );
  }
  mounted = true;
}

const record = (key: string) => ({
  key,
  resourceKey: `payment-request:${key}`,
  eventType: 'PAYMENT-COMPLETED',
  payload: JSON.stringify({ padding: 'x'.repeat(2_000) }),
  receivedAt: Date.now(),
  clientIp: null,
});

const freeBytes = (): number => {
  const stats = statfsSync(dir);
  return stats.bavail * stats.bsize;
};

it('a full disk: checkWritable says so while reads still work; once space returns the WAL is given back and every accepted event is processed', async () => {
  mountSmallDisk();
  const database = join(dir, 'inbox.db');
  const inbox = createSqliteInbox({ database, synchronous: 'NORMAL' });
  try {
    await inbox.checkWritable();
    const filler = join(dir, 'filler');
    writeFileSync(filler, Buffer.alloc(512 * 1024));

    // Fill the disk: each enqueue that resolved is a delivery answered 2xx.
    const accepted: string[] = [];
    let refusal: unknown;
    for (let i = 0; i < 5_000 && refusal === undefined; i++) {
      try {
        await inbox.enqueue([record(`e${i}`)]);
        accepted.push(`e${i}`);
      } catch (error) {
        refusal = error;
      }
    }
    expect(isC2pError(refusal, 'STORE_UNAVAILABLE')).toBe(true);
    expect((refusal as Error).message).toMatch(/disk is full \(SQLITE_FULL\)/);
    expect(accepted.length).toBeGreaterThan(10);

    // Reads answer; a write does not, and the check says why.
    expect((await inbox.counts()).pending).toBe(accepted.length);
    await expect(inbox.checkWritable()).rejects.toThrow(/disk is full/);
    // The space went to the database file, not to a WAL that could not be
    // checkpointed without more (it held all 1.5 MB before).
    const walWhenFull = statSync(`${database}-wal`).size;
    expect(walWhenFull).toBeLessThan(256 * 1024);

    // Space returns; the next write checkpoints and truncates the WAL first.
    rmSync(filler);
    const freed = freeBytes();
    // It still fails for 5 s after the last write that failed for want of space.
    await expect(inbox.checkWritable()).rejects.toThrow(/disk is full/);
    await new Promise((resolve) => setTimeout(resolve, 5_100));
    await inbox.checkWritable();
    const walAfter = statSync(`${database}-wal`).size;
    expect(walAfter).toBeLessThan(64 * 1024);
    expect(freeBytes()).toBeGreaterThanOrEqual(freed);

    // Every event answered 2xx is there and is processed.
    const processed = new Set<string>();
    for (let round = 0; round < 20 && processed.size < accepted.length; round++) {
      for (const { entry, token } of await inbox.lease(100, 30_000)) {
        if (await inbox.complete(entry.id, token)) processed.add(entry.key);
      }
    }
    console.log(
      `[full disk] accepted ${accepted.length} before SQLITE_FULL; WAL ${walWhenFull} bytes when full, ` +
        `${walAfter} after the check; free ${freed} bytes after the filler went, ${freeBytes()} after the checkpoint; processed ${processed.size}`,
    );
    expect(processed.size).toBe(accepted.length);
    expect((await inbox.counts()).processed).toBe(accepted.length);
  } finally {
    await inbox.close();
  }
}, 60_000);
