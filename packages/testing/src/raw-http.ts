import { connect, type Socket } from 'node:net';

/** One HTTP/1.1 response as it came off the wire. */
export interface RawResponse {
  status: number;
  /** Lower-case names; repeated headers joined by `, `. */
  headers: Record<string, string>;
  body: string;
  /** Milliseconds from the call that waited for it. */
  elapsedMs: number;
}

/**
 * A client socket that writes exactly the bytes it is given (lying lengths, repeated
 * headers, non-UTF-8, a trickle) and reads responses off the wire, for the cases a
 * well-behaved client such as `fetch` refuses to send.
 */
export class RawConnection {
  readonly closed: Promise<void>;
  private readonly socket: Socket;
  private buffer = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | undefined;
  /** The socket error, if any (a reset while we were still writing, say). */
  error: Error | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake?.();
    });
    socket.on('error', (error) => {
      this.error = error;
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.ended = true;
        this.wake?.();
        resolve();
      });
    });
  }

  /** Opens a connection to the host and port of `url`. */
  static async open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawConnection(socket);
  }

  /** Whether the server has closed the connection. */
  get isClosed(): boolean {
    return this.ended;
  }

  /** Writes bytes as they are (strings as latin1, one byte per unit); ignores a closed socket. */
  write(data: string | Uint8Array): void {
    if (this.ended || this.socket.destroyed) return;
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /**
   * The next response, or `undefined` when the connection closes first.
   * Rejects after `timeoutMs`.
   */
  async response(timeoutMs = 5_000): Promise<RawResponse | undefined> {
    const started = performance.now();
    const deadline = started + timeoutMs;
    for (;;) {
      const parsed = takeResponse(this.buffer, this.ended);
      if (parsed) {
        this.buffer = this.buffer.subarray(parsed.used);
        return { ...parsed.response, elapsedMs: performance.now() - started };
      }
      if (this.ended) return undefined;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** Resolves `true` once the server closes the connection, `false` after `timeoutMs`. */
  async closesWithin(timeoutMs: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([this.closed.then(() => true as const), timeout]);
    clearTimeout(timer);
    return result;
  }

  /** Ends our side (a half-close): the server sees the end of the request stream. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Head of a request: request line, the headers in order (repeats allowed), blank line. */
export function requestHead(
  method: string,
  path: string,
  headers: ReadonlyArray<readonly [string, string]>,
): string {
  const lines = [
    `${method} ${path} HTTP/1.1`,
    ...headers.map(([name, value]) => `${name}: ${value}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** `bytes` as one chunk of a chunked body. */
export function chunk(bytes: string | Uint8Array): Buffer {
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes);
  return Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
}

function takeResponse(
  buffer: Buffer,
  ended: boolean,
): { response: Omit<RawResponse, 'elapsedMs'>; used: number } | undefined {
  const headEnd = buffer.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const [statusLine = '', ...lines] = buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  const start = headEnd + 4;
  if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
    const parts: Buffer[] = [];
    let at = start;
    for (;;) {
      const lineEnd = buffer.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = Number.parseInt(buffer.subarray(at, lineEnd).toString('latin1'), 16);
      if (buffer.length < lineEnd + 2 + size + 2) return undefined;
      if (size === 0) {
        const body = Buffer.concat(parts).toString('utf8');
        return { response: { status, headers, body }, used: lineEnd + 4 };
      }
      parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  if (headers['content-length'] !== undefined) {
    const end = start + Number(headers['content-length']);
    if (buffer.length < end) return undefined;
    return {
      response: { status, headers, body: buffer.subarray(start, end).toString('utf8') },
      used: end,
    };
  }
  // Neither: the body runs to the end of the connection.
  if (!ended) return undefined;
  return {
    response: { status, headers, body: buffer.subarray(start).toString('utf8') },
    used: buffer.length,
  };
}
