/**
 * What the `c2p` CLI reads and writes. The bin passes `process`; tests pass
 * their own streams and environment and run the CLI in-process.
 */
export interface CliIo {
  /** Read for `C2P_URL`, `C2P_WEBHOOK_USERNAME`, `C2P_WEBHOOK_PASSWORD` and `C2P_CA_FILE`. */
  env: Readonly<Record<string, string | undefined>>;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Read only by `c2p replay -`. */
  stdin: AsyncIterable<string | Uint8Array>;
}

/** Writes one line to stdout. */
export function print(io: CliIo, line: string): void {
  io.stdout.write(`${line}\n`);
}

/** Writes one line to stderr, prefixed `c2p: `. */
export function warn(io: CliIo, line: string): void {
  io.stderr.write(`c2p: ${line}\n`);
}
