/** The test server's URL; a missing one fails the run (never skips it). */
export function serverUrl(): string {
  const url = process.env.C2P_TEST_POSTGRES_URL;
  if (!url) {
    throw new Error(
      'C2P_TEST_POSTGRES_URL is not set: run `node scripts/services.mjs start` and export the URL it prints (or run `npm test`)',
    );
  }
  return url;
}
