import { invalidOption } from './api-error.js';
import { encodeBasic } from './encode-basic.js';
import type { ReconciledEvent } from './reconcile-event.js';

/**
 * What the submit needs of a c2p pipeline: its `handle`. Any pipeline from
 * `@c2p/core`'s `createWebhooks` is one, in either mode (written here
 * structurally, so `@c2p/api` does not depend on core).
 */
export interface SubmitPipeline {
  handle(request: {
    method: string;
    header(name: string): string | null | undefined;
    body: string;
    peerAddress: string | null | undefined;
  }): Promise<{ status: number; body: string }>;
}

/** Options for {@link createPipelineSubmit}. */
export interface PipelineSubmitOptions {
  /**
   * A pipeline on the same inbox (or the same store and handlers) as the
   * webhook listeners', with the same idempotency key function, that allows
   * `peerAddress`: e.g. `createWebhooks({ credentials, allowedIps: ['127.0.0.1'], inbox })`.
   */
  pipeline: SubmitPipeline;
  /** The pipeline's Basic credentials. */
  credentials: { username: string; password: string };
  /** The address the submitted deliveries come from. Defaults to `127.0.0.1`. */
  peerAddress?: string;
}

/**
 * The reconciler's `submit` through a c2p pipeline: each event goes in as a
 * delivery of one, so it is validated, keyed, stored (inbox mode) or run
 * (sync mode) exactly as a webhook's, and answers `accepted` or `duplicate`.
 * Any other answer (503 store unavailable, 409 in progress, 500 handler
 * failed) throws, and the reconciler tries again at its next pass.
 *
 * @example
 * ```ts
 * const submit = createPipelineSubmit({
 *   pipeline: createWebhooks({ credentials, allowedIps: ['127.0.0.1'], inbox }),
 *   credentials,
 * });
 * const reconciler = createReconciler({ client, expected, submit });
 * ```
 */
export function createPipelineSubmit(
  options: PipelineSubmitOptions,
): (event: ReconciledEvent) => Promise<'accepted' | 'duplicate'> {
  const { pipeline, credentials } = options;
  if (typeof pipeline?.handle !== 'function') {
    throw invalidOption('options.pipeline', 'has no handle function');
  }
  const authorization = encodeBasic(credentials.username, credentials.password);
  const headers: Readonly<Record<string, string>> = {
    authorization,
    'content-type': 'application/json',
  };
  const peerAddress = options.peerAddress ?? '127.0.0.1';
  return async (event) => {
    const response = await pipeline.handle({
      method: 'POST',
      header: (name) => headers[name],
      body: JSON.stringify(event),
      peerAddress,
    });
    const summary = response.status === 200 ? readSummary(response.body) : undefined;
    if (summary === undefined) {
      throw new Error(`the pipeline answered ${response.status} ${codeOf(response.body)}`.trim());
    }
    return summary.duplicates > 0 ? 'duplicate' : 'accepted';
  };
}

/** The 200 summary's duplicate count, or `undefined` for another body. */
function readSummary(body: string): { duplicates: number } | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    const duplicates = (parsed as { duplicates?: unknown } | null)?.duplicates;
    return typeof duplicates === 'number' ? { duplicates } : undefined;
  } catch {
    return undefined;
  }
}

/** The error code of a refusal (`STORE_UNAVAILABLE`), or nothing. */
function codeOf(body: string): string {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } } | null)?.error?.code;
    return typeof code === 'string' ? code : '';
  } catch {
    return '';
  }
}
