/** A mistake in how c2p was called: `run` prints `c2p: <message>` on stderr and answers 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
