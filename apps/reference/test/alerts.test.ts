import { afterEach, describe, expect, it } from 'vitest';
import { createAlerts } from '../src/alerts/create-alerts.js';
import { type AlertReceiver, startAlertReceiver } from './support/alert-receiver.js';
import { waitFor } from './support/reference.js';

const receivers: AlertReceiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

function recordingLog() {
  const lines: Array<[string, unknown, string]> = [];
  const at = (level: string) => (fields: unknown, message?: string) => {
    lines.push([level, fields, message ?? '']);
  };
  return { lines, log: { warn: at('warn'), error: at('error'), info: at('info') } as never };
}

describe('createAlerts', () => {
  it('retries a failing receiver with backoff and sends each alert once, in order', async () => {
    const receiver = await startAlertReceiver();
    receivers.push(receiver);
    receiver.failNext = 2;
    const { log } = recordingLog();
    const alerts = createAlerts({ url: receiver.url, log, retryBaseMs: 20 });
    alerts.send({ alert: 'dead', text: 'first' });
    alerts.send({ alert: 'backlog', text: 'second' });
    await waitFor(
      'both delivered',
      async () => receiver.delivered().length,
      (n) => n === 2,
    );
    await alerts.close();
    expect(receiver.posts.map((p) => [p.status, p.body.text])).toEqual([
      [503, 'first'],
      [503, 'first'],
      [200, 'first'],
      [200, 'second'],
    ]);
    expect(new Set(receiver.posts.slice(0, 3).map((p) => p.body.id)).size).toBe(1);
  });

  it('never blocks the caller, and drops an alert (logged) after its attempts', async () => {
    const receiver = await startAlertReceiver();
    receivers.push(receiver);
    receiver.failNext = 1_000;
    const { lines, log } = recordingLog();
    const alerts = createAlerts({ url: receiver.url, log, retryBaseMs: 10, maxAttempts: 3 });
    const started = performance.now();
    for (let i = 0; i < 100; i += 1) alerts.send({ alert: 'dead', text: `alert ${i}` });
    expect(performance.now() - started).toBeLessThan(100);
    await waitFor(
      'the first dropped',
      async () => lines.filter(([l]) => l === 'error').length,
      (n) => n >= 1,
    );
    expect(receiver.posts.filter((p) => p.body.text === 'alert 0')).toHaveLength(3);
    await alerts.close();
  });

  it('without a URL only logs and counts', async () => {
    const { lines, log } = recordingLog();
    const counted: string[] = [];
    const alerts = createAlerts({ url: undefined, log, onAlert: (a) => counted.push(a.alert) });
    alerts.send({ alert: 'recovered', text: 'the inbox has caught up' });
    await alerts.close();
    expect(counted).toEqual(['recovered']);
    expect(lines).toEqual([
      ['warn', expect.objectContaining({ alert: 'recovered' }), 'the inbox has caught up'],
    ]);
  });
});
