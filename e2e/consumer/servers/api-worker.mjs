import { handleSmoke } from './api-app.mjs';

export default { fetch: handleSmoke };
