import { type AdminReply, jsonReply } from './admin-reply.js';

/** What {@link createAdminError} takes: the status, the SCREAMING_SNAKE code, a message without request input. */
export interface AdminErrorOptions {
  status: number;
  code: string;
  message: string;
  headers?: Record<string, string>;
}

/**
 * An admin answer that is an error. A route throws it (or returns it as a
 * value where that reads better); {@link errorReply} is the one place that
 * writes `{"error":{"code","message"}}`, after h3's `createError`/`sendError`.
 */
export class AdminError extends Error {
  override name = 'AdminError';
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string> | undefined;

  constructor(options: AdminErrorOptions) {
    super(options.message);
    this.status = options.status;
    this.code = options.code;
    this.headers = options.headers;
  }
}

/** Builds an {@link AdminError}. */
export function createAdminError(options: AdminErrorOptions): AdminError {
  return new AdminError(options);
}

/** The wire form of an admin error. */
export function errorReply(error: AdminError): AdminReply {
  const reply = jsonReply({ error: { code: error.code, message: error.message } }, error.status);
  return error.headers ? { ...reply, headers: error.headers } : reply;
}

/** 404 `NOT_FOUND`, with what was not found. */
export const notFound = (message = 'Not found.'): AdminError =>
  createAdminError({ status: 404, code: 'NOT_FOUND', message });

/** 405 with the `Allow` header naming what is accepted. */
export const methodNotAllowed = (allowed: string, message: string): AdminError =>
  createAdminError({
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
    message,
    headers: { allow: allowed },
  });

/** 400 `BAD_REQUEST`: the message names the parameter. */
export const badRequest = (message: string): AdminError =>
  createAdminError({ status: 400, code: 'BAD_REQUEST', message });
