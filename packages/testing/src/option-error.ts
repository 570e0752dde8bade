import { C2pError } from '@c2p/core';

/**
 * A bad option given to a function of `@c2p/testing`: a `C2pError` with code
 * `INVALID_OPTIONS` and the message `[@c2p/testing] options.url: ...`, that
 * also carries the option's path and the problem apart, so the `c2p` CLI can
 * name its own flag (`--url: ...`) without taking the message apart.
 */
export class OptionError extends C2pError {
  /** The option's path, e.g. `options.url`. */
  readonly path: string;
  /** What is wrong with it, e.g. `"ftp:" is not http: or https:`. */
  readonly problem: string;

  constructor(path: string, problem: string) {
    super('INVALID_OPTIONS', { message: `[@c2p/testing] ${path}: ${problem}` });
    this.path = path;
    this.problem = problem;
  }
}
