/**
 * The baseline every hit-path figure is measured against: bare node:http answering 1 KiB from
 * memory, as a script for `node -e`. It prints `listening <port>`, exits on SIGTERM (so that a
 * wrapper such as valgrind sees a normal exit) and when the benchmark's pipe on fd 3 closes.
 */
export const BARE_SERVER = `
const body = Buffer.alloc(1024, 120);
const server = require('node:http').createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
  res.end(body);
});
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => process.stdout.write('listening ' + server.address().port + '\\n'));
process.on('SIGTERM', () => process.exit(0));
new (require('node:net').Socket)({ fd: 3 }).on('close', () => process.exit(1)).resume().unref();
`;

/** What BARE_SERVER prints once it listens; the port is the first group. */
export const BARE_LISTENING = /listening (\d+)/;
