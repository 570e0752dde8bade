import * as otel from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBasicAuth } from '../src/basic-auth.js';
import { createHandlers } from '../src/create-handlers.js';
import { createWebhooks } from '../src/create-webhooks.js';
import { startInboxWorker } from '../src/inbox-worker.js';
import { createMemoryInbox } from '../src/memory-inbox.js';
import { hashKey, type OpenTelemetryApi } from '../src/telemetry.js';
import type { WebhookRequest } from '../src/webhook-request.js';

// The real module is an OpenTelemetryApi: users pass it as it is.
const api: OpenTelemetryApi = otel;

const credentials = { username: 'clik2pay', password: 'a-long-webhook-password' };
const secretId = 'PR-7d1f-secret-looking-id';
const body = JSON.stringify({
  eventType: 'PAYMENT-COMPLETED',
  resourceType: 'payment-request',
  resource: { id: secretId, status: 'PAID', amount: 1234 },
});

function request(password = credentials.password): WebhookRequest {
  const authorization = encodeBasicAuth(credentials.username, password);
  return {
    method: 'POST',
    header: (name) => (name === 'authorization' ? authorization : undefined),
    body,
    peerAddress: '127.0.0.1',
  };
}

async function until(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the condition');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('telemetry without a registered provider', () => {
  it('records nothing and changes no answer', async () => {
    const inbox = createMemoryInbox();
    const intake = createWebhooks({ credentials, allowedIps: ['loopback'], inbox, telemetry: api });
    expect((await intake.handle(request())).status).toBe(200);
    expect((await intake.handle(request('wrong-password-here'))).status).toBe(401);
    const worker = startInboxWorker({
      inbox,
      handlers: createHandlers(),
      telemetry: api,
      pollIntervalMs: 10,
    });
    await until(async () => (await inbox.counts()).processed === 1);
    await worker.stop();
  });

  it('refuses something that is not the API, naming the option', () => {
    expect(() =>
      createWebhooks({
        credentials,
        allowedIps: ['loopback'],
        inbox: createMemoryInbox(),
        telemetry: {} as OpenTelemetryApi,
      }),
    ).toThrow('options.telemetry');
  });
});

describe('telemetry with an SDK registered', () => {
  const spans = new InMemorySpanExporter();
  const reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 3_600_000,
  });
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(spans)],
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  beforeAll(() => {
    otel.trace.setGlobalTracerProvider(tracerProvider);
    otel.metrics.setGlobalMeterProvider(meterProvider);
  });
  afterAll(async () => {
    otel.trace.disable();
    otel.metrics.disable();
    await meterProvider.shutdown();
  });

  /** Every data point of one metric, as `[attributes, value]`. */
  async function points(name: string): Promise<Array<[Record<string, unknown>, unknown]>> {
    const { resourceMetrics } = await reader.collect();
    const metric = resourceMetrics.scopeMetrics
      .flatMap((scope) => scope.metrics)
      .find((m) => m.descriptor.name === name);
    return (metric?.dataPoints ?? []).map((p) => [p.attributes, p.value]);
  }

  it('counts deliveries by status and code, with a span each that holds no credentials or ids', async () => {
    const inbox = createMemoryInbox();
    const intake = createWebhooks({ credentials, allowedIps: ['loopback'], inbox, telemetry: api });
    for (const r of [request(), request(), request('wrong-password-here')]) await intake.handle(r);
    expect(await points('c2p.deliveries')).toEqual(
      expect.arrayContaining([
        [{ status: 200, code: '' }, 2],
        [{ status: 401, code: 'UNAUTHORIZED' }, 1],
      ]),
    );
    const delivered = spans.getFinishedSpans().filter((s) => s.name === 'c2p.delivery');
    expect(delivered).toHaveLength(3);
    expect(delivered[0]?.attributes).toMatchObject({
      'http.response.status_code': 200,
      'c2p.event_type': 'PAYMENT-COMPLETED',
      'c2p.resource_kind': 'payment-request',
      'c2p.outcome': 'accepted',
      'c2p.key_hash': hashKey(`payment-request:${secretId}:PAYMENT-COMPLETED:PAID`),
    });
    expect(delivered[1]?.attributes['c2p.outcome']).toBe('duplicate');
    expect(delivered[2]?.attributes['http.response.status_code']).toBe(401);
    const everything = JSON.stringify(spans.getFinishedSpans().map((s) => s.attributes));
    for (const secret of [credentials.password, 'wrong-password-here', secretId, '1234', 'Basic'])
      expect(everything).not.toContain(secret);
  });

  it('spans and counts attempts, times handlers, and reports the inbox gauges', async () => {
    spans.reset();
    const inbox = createMemoryInbox();
    const intake = createWebhooks({ credentials, allowedIps: ['loopback'], inbox });
    let seenSpan: string | undefined;
    const worker = startInboxWorker({
      inbox,
      handlers: createHandlers().onAny(async () => {
        seenSpan = otel.trace.getActiveSpan()?.spanContext().spanId;
        throw new Error('order system refused');
      }),
      retry: { maxAttempts: 2, baseDelayMs: 1 },
      pollIntervalMs: 10,
      telemetry: api,
    });
    await intake.handle(request());
    await until(async () => (await inbox.counts()).dead === 1);
    await worker.idle();
    expect(await points('c2p.handler.attempts')).toEqual(
      expect.arrayContaining([
        [{ outcome: 'retrying' }, 1],
        [{ outcome: 'dead' }, 1],
      ]),
    );
    const durations = await points('c2p.handler.duration');
    expect(durations.map(([, value]) => (value as { count: number }).count)).toEqual([1, 1]);
    const attempts = spans.getFinishedSpans().filter((s) => s.name === 'c2p.handler.attempt');
    expect(attempts.map((s) => [s.attributes['c2p.attempt'], s.attributes['c2p.outcome']])).toEqual(
      [
        [1, 'retrying'],
        [2, 'dead'],
      ],
    );
    expect(attempts[1]?.attributes['c2p.key_hash']).toMatch(/^[0-9a-f]{8}$/);
    // Without a context manager registered the API has no active span: the
    // handler ran all the same (with one, its spans nest under the attempt's).
    expect(seenSpan).toBeUndefined();
    expect(await points('c2p.inbox.events')).toEqual(
      expect.arrayContaining([
        [{ state: 'dead' }, 1],
        [{ state: 'pending' }, 0],
      ]),
    );
    expect(await points('c2p.inbox.oldest_unfinished_age')).toEqual([[{}, 0]]);
    expect(await points('c2p.inbox.paused')).toEqual([[{}, 0]]);
    await worker.stop();
    // Stopped: its gauges read the inbox no more (the SDK keeps their last values).
    await intake.handle({ ...request(), body: body.replace('PAID', 'REFUNDED') });
    expect((await inbox.counts()).pending).toBe(1);
    expect(await points('c2p.inbox.events')).toContainEqual([{ state: 'pending' }, 0]);
  });
});
