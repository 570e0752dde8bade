import type { FactoryResourceKind } from '../create-event.js';
import type { Flags } from './parse-args.js';
import { UsageError } from './usage-error.js';

/**
 * The fields `--merchant-transaction-id`, `--payment-request-id` and `--resource`
 * merge over each built resource. `--resource key=value` sets a string;
 * `--resource key:=json` a JSON value (`amount:=12.5`, `payer:={"name":"A"}`).
 */
export function resourceFields(flags: Flags, kind: FactoryResourceKind): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const entry of flags.list('resource')) {
    const match = /^([^=:]+)(:?=)([\s\S]*)$/.exec(entry);
    const [, key, operator, raw] = match ?? [];
    if (key === undefined || raw === undefined || key.trim() !== key) {
      throw new UsageError(`--resource: "${entry}" is not key=value or key:=json`);
    }
    fields[key] = operator === '=' ? raw : parseJson(raw, entry);
  }
  const merchantTransactionId = flags.text('merchant-transaction-id');
  if (merchantTransactionId !== undefined) fields.merchantTransactionId = merchantTransactionId;
  const paymentRequestId = flags.text('payment-request-id');
  if (paymentRequestId !== undefined) {
    if (kind !== 'payment') {
      throw new UsageError(
        '--payment-request-id names the payment request a refund is for: add --kind payment',
      );
    }
    fields.paymentRequestId = paymentRequestId;
  }
  return fields;
}

function parseJson(raw: string, entry: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new UsageError(`--resource: "${entry}": the value after := is not JSON`);
  }
}
