// The metadata forwarder of one project network (Neutron's haproxy in the ovnmeta namespace), run by the agent
// inside the network's namespace: `node metadata-forwarder.mjs <agent socket> <network id> [address] [port]`.
// It listens on 169.254.169.254:80 there and hands each request to the agent's metadata proxy over a unix
// socket, naming the network and the guest's own source address in headers of its own. Headers of those names
// that the guest sent are dropped first: only this process, which sees the source address, may say them.
// Plain JavaScript, so it runs on the agent's node binary with no loader. It exits when its stdin closes (the
// agent that started it is gone) and prints `ready` once it listens.
import { createServer, request } from 'node:http';

const [socketPath, networkId, address = '169.254.169.254', port = '80'] = process.argv.slice(2);
if (!socketPath || !networkId) {
  process.stderr.write('usage: metadata-forwarder.mjs <agent socket> <network id> [address] [port]\n');
  process.exit(2);
}

const OWN = /^x-aster-/i;

const server = createServer((req, res) => {
  const headers = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    if (!OWN.test(name)) headers.push(name, req.rawHeaders[i + 1]);
  }
  headers.push('x-aster-network-id', networkId, 'x-aster-source-address', (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''));
  const upstream = request({ socketPath, path: req.url, method: req.method, headers, timeout: 30_000 }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
    answer.pipe(res);
  });
  upstream.on('timeout', () => upstream.destroy(new Error('the agent did not answer')));
  upstream.on('error', (error) => {
    if (res.headersSent) return void res.destroy();
    const body = `the compute host's metadata proxy cannot be reached (${error.message})`;
    res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  req.pipe(upstream);
});
server.headersTimeout = 10_000;
server.requestTimeout = 30_000;
server.on('error', (error) => {
  process.stderr.write(`metadata forwarder: ${error.message}\n`);
  process.exit(1);
});
server.listen(Number(port), address, () => process.stdout.write('ready\n'));

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
