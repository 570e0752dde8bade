/** The base and token URLs of one Clik2pay environment. */
export interface Clik2payEnvironment {
  /** The Payment Requests API, e.g. `https://api.clik2pay.com/open/v1`. */
  baseUrl: string;
  /** The OAuth 2 token endpoint. */
  tokenUrl: string;
}

/**
 * Clik2pay's two environments. The documentation's own table of token URLs is
 * empty; these come from public integrations. Credentials are per environment.
 */
export const clik2payEnvironments = {
  production: {
    baseUrl: 'https://api.clik2pay.com/open/v1',
    tokenUrl: 'https://api-auth.clik2pay.com/oauth2/token',
  },
  sandbox: {
    baseUrl: 'https://api.sandbox.clik2pay.com/open/v1',
    tokenUrl: 'https://api-auth.sandbox.clik2pay.com/oauth2/token',
  },
} as const satisfies Record<string, Clik2payEnvironment>;

/** `production` or `sandbox`. */
export type Clik2payEnvironmentName = keyof typeof clik2payEnvironments;
