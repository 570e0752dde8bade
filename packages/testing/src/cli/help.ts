import { eventTypes } from '@c2p/core';

/** `c2p --help`. */
export const mainHelp = `c2p: send Clik2pay-style webhook deliveries to a receiver

Usage:
  c2p send <event-type> [options]   build an event and deliver it
  c2p replay <file|->   [options]   deliver a body exactly as given
  c2p example [event-type] [options] print a sample body
  c2p mock [options]                a local Clik2pay: token, payment requests, webhooks

Run c2p <command> --help for its options.
Exit codes: 0 all delivered, 1 a delivery failed after its last attempt, 2 bad usage.`;

const deliveryHelp = `Delivery options:
  --url <url>              receiver URL (env C2P_URL)
  --username <name>        Basic user-id (env C2P_WEBHOOK_USERNAME)
  --password <secret>      Basic password (env C2P_WEBHOOK_PASSWORD; prefer the
                           variable, so the secret stays out of shell history)
  --times <n>              deliver each body n times, as duplicates (default 1)
  --concurrency <n>        deliveries in flight at once (default 1)
  --order <order>          as-given, reverse or shuffle (default as-given)
  --forwarded-for <ips>    send this X-Forwarded-For header
  --ca <file>              trust this PEM CA for https (env C2P_CA_FILE)
  --insecure               do not verify the https certificate (local only)
  --attempts <n>           attempts per delivery in all (default 3, as Clik2pay)
  --backoff <ms>           first wait before a retry, doubled after (default 1000)
  --timeout <ms>           per-attempt timeout (default 10000)
  --json                   print one JSON result instead of progress lines
  -h, --help               show this help`;

const eventHelp = `Event options:
  --kind <kind>            payment-request (default) or payment (a refund)
  --resource-type <text>   resourceType spelling, e.g. "Payments API" (default: the kind)
  --id <id>                resource id (default: a fresh UUID per event)
  --status <status>        resource status (default: PAID, ACCEPTED for a refund,
                           FAILED, or ACTIVE, by event type)
  --amount <cad>           amount in CAD (default 1)
  --merchant-transaction-id <ref>
                           the merchant's reference (default null)
  --payment-request-id <id>
                           a refund's payment request (with --kind payment)
  --resource <key=value>   set a resource field to a string; key:=json for
                           any JSON value (repeatable)
  --allow-unknown          send an undocumented <event-type> as typed
  --events <n>             build n events (default 1)
  --shape <shape>          array (default, as documented: one body holding the events)
                           or object (each event its own delivery)`;

/** `c2p send --help`. */
export const sendHelp = `Usage: c2p send <event-type> [options]

Builds an event and delivers it the way Clik2pay does: a JSON POST with Basic
auth, delivered on a 2xx, otherwise tried again, three attempts in all.
<event-type> is one of ${eventTypes.join(', ')}
(any case). Another name is refused, with the nearest documented one, unless
--allow-unknown sends it as typed (to test how a receiver takes an unknown type).

Each attempt prints one line; a c2p listener's answer reads the same in both
modes: "200 delivered  12 ms  accepted 1, duplicates 0" (inbox) or
"processed 1, duplicates 0" (sync). --json prints the raw answers.

${eventHelp}

${deliveryHelp}

Examples:
  C2P_WEBHOOK_USERNAME=clik2pay C2P_WEBHOOK_PASSWORD=secret \\
    c2p send payment-completed --url http://localhost:3001/webhooks/clik2pay --times 3
  c2p send payment-completed --merchant-transaction-id ORDER-1001
  c2p send payment-completed --kind payment --payment-request-id "$PAYMENT_REQUEST_ID"`;

/** `c2p replay --help`. */
export const replayHelp = `Usage: c2p replay <file|-> [options]

Delivers the file's bytes (or stdin's, for -) exactly as given, unvalidated,
with Clik2pay's retries.

${deliveryHelp}`;

/** `c2p example --help`. */
export const exampleHelp = `Usage: c2p example [event-type] [options]

Prints a sample body. Without an event type or options, prints the documented
example exactly as Clik2pay's page shows it.

${eventHelp}
  -h, --help               show this help`;
