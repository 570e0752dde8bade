import { OptionError } from '../option-error.js';
import type { CliIo } from './cli-io.js';
import { print, warn } from './cli-io.js';
import { example } from './commands/example.js';
import { mock } from './commands/mock.js';
import { replay } from './commands/replay.js';
import { send } from './commands/send.js';
import { mainHelp } from './help.js';
import { UsageError } from './usage-error.js';

export type { CliIo } from './cli-io.js';

const commands: Readonly<Record<string, (args: string[], io: CliIo) => Promise<number>>> = {
  send,
  replay,
  example,
  mock,
};

/** The flag behind each library option the CLI fills, to name it when the library refuses one. */
const flagOfOption: Readonly<Record<string, string>> = {
  'options.url': '--url',
  'options.username': '--username',
  'options.password': '--password',
  'options.times': '--times',
  'options.concurrency': '--concurrency',
  'options.order': '--order',
  'options.attempts': '--attempts',
  'options.backoffMs': '--backoff',
  'options.timeoutMs': '--timeout',
  'options.kind': '--kind',
  'options.amount': '--amount',
  'options.shape': '--shape',
};

/**
 * Runs the `c2p` CLI with `argv` (without `node` and the script) and answers
 * its exit code: `0` every delivery got a 2xx, `1` one failed after its last
 * attempt, `2` bad usage (one line on stderr). Never throws and never touches
 * `process`: everything it reads and writes goes through `io`.
 *
 * @example
 * ```ts
 * process.exitCode = await run(process.argv.slice(2), process);
 * ```
 */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  try {
    if (name === undefined) throw new UsageError('missing command (see c2p --help)');
    if (name === 'help' || name === '--help' || name === '-h') {
      print(io, mainHelp);
      return 0;
    }
    const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (command === undefined) throw new UsageError(`unknown command '${name}' (see c2p --help)`);
    return await command(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      warn(io, error.message);
      return 2;
    }
    if (error instanceof OptionError) {
      warn(io, `${flagOfOption[error.path] ?? error.path}: ${error.problem}`);
      return 2;
    }
    warn(io, error instanceof Error ? error.message : String(error));
    return 1;
  }
}
