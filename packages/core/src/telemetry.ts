import type { DeliveryReport } from './delivery-report.js';
import { invalidOption } from './errors.js';

/** Attribute values c2p sets: strings and numbers only. */
export type TelemetryAttributes = Record<string, string | number>;

/** The part of an OpenTelemetry span c2p uses. */
export interface TelemetrySpan {
  setAttribute(key: string, value: string | number): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  end(endTime?: number): void;
}

/** The part of an OpenTelemetry tracer c2p uses. */
export interface TelemetryTracer {
  startSpan(
    name: string,
    options?: { attributes?: TelemetryAttributes; startTime?: number; kind?: number },
    context?: unknown,
  ): TelemetrySpan;
}

/** What an observable gauge's callback is handed. */
export interface TelemetryObservation {
  observe(value: number, attributes?: TelemetryAttributes): void;
}

/** The part of an OpenTelemetry meter c2p uses. */
export interface TelemetryMeter {
  createCounter(
    name: string,
    options?: { description?: string; unit?: string },
  ): { add(value: number, attributes?: TelemetryAttributes): void };
  createHistogram(
    name: string,
    options?: { description?: string; unit?: string },
  ): { record(value: number, attributes?: TelemetryAttributes): void };
  createObservableGauge(
    name: string,
    options?: { description?: string; unit?: string },
  ): {
    addCallback(callback: (result: TelemetryObservation) => void | Promise<void>): void;
    removeCallback(callback: (result: TelemetryObservation) => void | Promise<void>): void;
  };
}

/**
 * The part of `@opentelemetry/api` c2p uses: pass the module itself
 * (`import * as otel from '@opentelemetry/api'`). Core never imports it, so it
 * runs without it installed; with it and no SDK registered, the API's no-op
 * tracer and meter record nothing.
 */
export interface OpenTelemetryApi {
  readonly trace: {
    getTracer(name: string, version?: string): TelemetryTracer;
    setSpan(context: never, span: never): unknown;
  };
  readonly metrics: { getMeter(name: string, version?: string): TelemetryMeter };
  readonly context: {
    active(): unknown;
    with(context: never, fn: () => Promise<void>): Promise<void>;
  };
}

/** The instrument scope c2p's spans and metrics are named under. */
export const telemetryScope = '@c2p/core';

/** OpenTelemetry's `SpanStatusCode.ERROR`, written here so core needs no value import. */
const statusError = 2;
/** OpenTelemetry's `SpanKind.SERVER` (a delivery) and `SpanKind.CONSUMER` (a handler attempt). */
const spanKind = { server: 1, consumer: 4 } as const;

/** Checks `options.telemetry`: the `@opentelemetry/api` module, or `undefined`. */
export function checkTelemetry(api: unknown, path: string): OpenTelemetryApi | undefined {
  if (api === undefined) return undefined;
  const candidate = api as Partial<OpenTelemetryApi> | null;
  if (
    typeof candidate?.trace?.getTracer !== 'function' ||
    typeof candidate.metrics?.getMeter !== 'function' ||
    typeof candidate.context?.with !== 'function'
  ) {
    throw invalidOption(
      path,
      "must be the @opentelemetry/api module: import * as otel from '@opentelemetry/api'",
    );
  }
  return candidate as OpenTelemetryApi;
}

/**
 * A short, stable, non-reversible-at-a-glance tag of an idempotency key
 * (FNV-1a, 32 bits, hex), so traces of one event can be found together without
 * carrying resource ids. Not a secret: keys hold no credentials.
 */
export function hashKey(key: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}

/** A delivery's span and metrics: started when `handle()` is called, ended with its report. */
export interface DeliveryTelemetry {
  start(): TelemetrySpan;
  end(span: TelemetrySpan, report: DeliveryReport): void;
}

/**
 * Span `c2p.delivery` and counter `c2p.deliveries` (`status`, `code`: every
 * delivery, refused ones too). Attributes name the event type and resource kind
 * of a one-event delivery, the outcome and a hash of the key: never credentials,
 * addresses or the body.
 */
export function createDeliveryTelemetry(api: OpenTelemetryApi): DeliveryTelemetry {
  const tracer = api.trace.getTracer(telemetryScope);
  const deliveries = api.metrics.getMeter(telemetryScope).createCounter('c2p.deliveries', {
    description: 'Webhook deliveries answered, by HTTP status and error code',
  });
  return {
    start: () => tracer.startSpan('c2p.delivery', { kind: spanKind.server }),
    end(span, report) {
      const code = report.code ?? '';
      deliveries.add(1, { status: report.status, code });
      span.setAttribute('http.response.status_code', report.status);
      span.setAttribute('c2p.step', report.step);
      span.setAttribute('c2p.events', report.events.length);
      if (code !== '') span.setStatus({ code: statusError, message: code });
      const [first] = report.events;
      if (report.events.length === 1 && first !== undefined) {
        span.setAttribute('c2p.event_type', first.eventType);
        span.setAttribute('c2p.resource_kind', first.kind);
        span.setAttribute('c2p.outcome', first.outcome);
        span.setAttribute('c2p.key_hash', hashKey(first.key));
      }
      span.end();
    },
  };
}

export { spanKind, statusError };
