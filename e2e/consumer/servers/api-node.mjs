import { createServer } from 'node:http';
import { handleSmoke } from './api-app.mjs';

const server = createServer(async (req, res) => {
  const response = await handleSmoke(new Request(`http://127.0.0.1${req.url}`));
  res.writeHead(response.status, { 'content-type': 'application/json' });
  res.end(await response.text());
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
