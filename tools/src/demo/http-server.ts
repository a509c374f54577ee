// Demo web server run inside a pod namespace: answers every GET on each listed port with
// "<name> port <p>" and logs one line per request.
// Usage: node http-server.js [--ports 80,8080] [--name web]
import { createServer } from 'node:http';
import { flagValue } from './http-get.js';

const argv = process.argv.slice(2);
const name = flagValue(argv, '--name', 'web');
const portList = flagValue(argv, '--ports', '80,8080').split(',').map(Number);
const servers = portList.map((port) => {
  const server = createServer((req, res) => {
    console.log(`${new Date().toISOString()} ${req.socket.remoteAddress}:${req.socket.remotePort} ${req.method} :${port}${req.url}`);
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
    res.end(`${name} port ${port}\n`);
  });
  server.on('error', (err) => {
    console.error(`listening on port ${port} failed: ${err.message}`);
    process.exit(1);
  });
  server.listen(port, () => console.log(`${name} listening on port ${port}`));
  return server;
});
const stop = (): void => {
  for (const s of servers) s.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
