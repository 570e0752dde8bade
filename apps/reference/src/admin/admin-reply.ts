/** What a route answers: the router writes it out with the admin's security headers. */
export interface AdminReply {
  status: number;
  type: string;
  body: string;
  headers?: Record<string, string>;
}

/** A JSON answer. */
export function jsonReply(value: unknown, status = 200): AdminReply {
  return { status, type: 'application/json; charset=utf-8', body: JSON.stringify(value) };
}
