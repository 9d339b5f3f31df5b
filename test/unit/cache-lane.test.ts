import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { LanedServer } from '../../src/http/cache-lane.js';
import { CACHE_REQUEST_HEADERS, readLaneRequest } from '../../src/http/lane-request.js';
import { sendJson, sendListed, sendServed } from '../../src/http/respond.js';
import { evaluate } from '../../src/cache/freshness.js';
import { PreparedAnswer, StoredVariant } from '../../src/cache/stored-variant.js';

const head = (text: string) => Buffer.from(text.replace(/\n/g, '\r\n'), 'latin1');

describe('cache lane - which request heads it reads', () => {
  it('reads a plain GET of /cache with the fields the cache uses, as node:http would give them', () => {
    const buf = head('GET /cache?url=http%3A%2F%2Fa.test%2F HTTP/1.1\nHost: n\nAccept: a\nUser-Agent: first\nACCEPT:  b \nuser-agent: second\nX-Other: x\n\n');
    const read = readLaneRequest(buf, 0);
    assert.ok(typeof read === 'object');
    assert.equal(read.method, 'GET');
    assert.equal(read.url, '/cache?url=http%3A%2F%2Fa.test%2F');
    assert.deepEqual(read.headers, { accept: 'a, b', 'user-agent': 'first' });
    assert.equal(read.close, false);
    assert.equal(read.end, buf.length);
  });

  it('reads a HEAD, and notes Connection: close', () => {
    const read = readLaneRequest(head('HEAD /cache HTTP/1.1\nHost: n\nConnection: keep-alive, Close\n\n'), 0);
    assert.ok(typeof read === 'object');
    assert.equal(read.method, 'HEAD');
    assert.equal(read.close, true);
  });

  it('waits for the rest of a head that has not ended', () => {
    assert.equal(readLaneRequest(head('GET /cache?url=x HTTP/1.1\nHost: n\n'), 0), 'partial');
  });

  const foreign: Record<string, string> = {
    'another route': 'GET /health HTTP/1.1\nHost: n\n\n',
    'a path that only starts like /cache': 'GET /cachex HTTP/1.1\nHost: n\n\n',
    'another method': 'POST /cache HTTP/1.1\nHost: n\nContent-Length: 0\n\n',
    'HTTP/1.0': 'GET /cache HTTP/1.0\nHost: n\n\n',
    'a body (Content-Length)': 'GET /cache HTTP/1.1\nHost: n\nContent-Length: 5\n\n',
    'a body (Transfer-Encoding)': 'GET /cache HTTP/1.1\nHost: n\nTransfer-Encoding: chunked\n\n',
    'an upgrade': 'GET /cache HTTP/1.1\nHost: n\nConnection: upgrade\nUpgrade: websocket\n\n',
    'Expect': 'GET /cache HTTP/1.1\nHost: n\nExpect: 100-continue\n\n',
    'no Host': 'GET /cache HTTP/1.1\nAccept: a\n\n',
    'two Hosts': 'GET /cache HTTP/1.1\nHost: n\nHost: m\n\n',
    'a folded line': 'GET /cache HTTP/1.1\nHost: n\nAccept: a\n b\n\n',
    'a space before the colon': 'GET /cache HTTP/1.1\nHost : n\n\n',
    'a control character in a value': 'GET /cache HTTP/1.1\nHost: n\nAccept: a\x01b\n\n',
    'a bare LF in a value': 'GET /cache HTTP/1.1\r\nHost: n\r\nAccept: a\nb\r\n\r\n',
    'a space in the target': 'GET /cache?url=a b HTTP/1.1\nHost: n\n\n',
    'an absolute-form target': 'GET http://n/cache HTTP/1.1\nHost: n\n\n',
  };
  for (const [what, text] of Object.entries(foreign)) {
    it(`leaves ${what} to node:http`, () => {
      assert.equal(readLaneRequest(text.includes('\r\n') ? Buffer.from(text, 'latin1') : head(text), 0), 'foreign');
    });
  }

  it('leaves a head larger than node:http allows to node:http, ended or not', () => {
    const big = 'a'.repeat(17 * 1024);
    assert.equal(readLaneRequest(head(`GET /cache HTTP/1.1\nHost: n\nAccept: ${big}\n\n`), 0), 'foreign');
    assert.equal(readLaneRequest(head(`GET /cache HTTP/1.1\nHost: n\nAccept: ${big}`), 0), 'foreign');
  });
});

describe('cache lane - answers on a connection', () => {
  let server: LanedServer;
  let port: number;
  const BIG = Buffer.alloc(256 * 1024, 'b');
  let bigAnswers = 0;
  const stored = { 'content-type': 'text/plain', date: 'Mon, 01 Jan 2024 00:00:00 GMT' };
  const storedAs = (body: Buffer, pack?: (length: number) => Buffer) =>
    StoredVariant.of({ url: 'http://o/s', status: 200, headers: stored, body, policy: evaluate({}, 200, stored, { targets: [], defaultTtlSeconds: 60 }).policy, selectedBy: {} }, undefined, pack);
  // Packed with its fields (a small body, as the store keeps it), and kept apart (a large one).
  const STORED = storedAs(Buffer.from('stored'), (length) => Buffer.alloc(length));
  const STORED_BIG = storedAs(BIG);
  before(async () => {
    server = new LanedServer(
      (req, res) => sendJson(res, 200, { by: 'node:http', url: req.url }),
      (req, res) => {
        const url = new URL(req.url, 'http://n');
        const what = url.searchParams.get('what');
        if (what === 'stream') {
          const chunks = (async function* () {
            yield Buffer.from('one,');
            yield Buffer.from('two');
          })();
          void sendServed(res, { status: 200, headers: { 'content-type': 'text/plain' }, body: chunks }, req.method);
        } else if (what === 'stored' || what === 'stored-big') {
          const prepared = new PreparedAnswer(['age', '7'], what === 'stored' ? STORED : STORED_BIG, req.method === 'HEAD');
          sendListed(res, { status: 200, headers: {}, prepared, headerList: prepared.headerList, body: prepared.body }, req.method, ['x-extra', 'yes']);
        } else if (what === 'split' || what === 'wide') {
          // U+010A and U+010D are a line feed and a carriage return once written as latin1.
          try {
            res.writeHead(200, ['x-evil', what === 'split' ? 'a\r\nset-cookie: b' : 'a\u010d\u010aset-cookie: b']);
            res.end();
          } catch {
            sendJson(res, 500, { error: 'internal' });
          }
        } else if (what === 'big') {
          bigAnswers++;
          sendServed(res, { status: 200, headers: { 'content-length': String(BIG.length) }, body: BIG }, req.method);
        } else if (what === 'later') {
          setTimeout(() => sendJson(res, 200, { by: 'lane', url: req.url }), 20);
        } else {
          sendServed(res, { status: 200, headers: { 'content-type': 'text/plain', 'content-length': '4' }, body: Buffer.from(what ?? 'none') }, req.method);
        }
      },
    );
    server.headersTimeout = 300;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  /** Sends `text` on a new connection and collects what comes back until the server closes it or `until` matches. */
  async function exchange(text: string | Buffer, until?: RegExp, socket: Socket = connect(port, '127.0.0.1')): Promise<string> {
    let received = '';
    socket.setEncoding('latin1');
    socket.write(typeof text === 'string' ? text.replace(/\n/g, '\r\n') : text);
    await new Promise<void>((resolve, reject) => {
      socket.on('data', (chunk: string) => {
        received += chunk;
        if (until?.test(received)) resolve();
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    if (until) socket.destroy();
    return received;
  }

  it('answers pipelined requests in order, each with its framing and keep-alive fields', async () => {
    const text = await exchange('GET /cache?what=aaaa HTTP/1.1\nHost: n\n\nGET /cache?what=later HTTP/1.1\nHost: n\n\nHEAD /cache?what=cccc HTTP/1.1\nHost: n\n\n', /timeout=5\r\n\r\n$/);
    const answers = text.split(/(?=HTTP\/1\.1 )/);
    assert.equal(answers.length, 3);
    assert.match(answers[0]!, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(answers[0]!, /\r\ncontent-length: 4\r\n/);
    assert.match(answers[0]!, /\r\ndate: \w{3}, \d\d \w{3} \d{4} /);
    assert.match(answers[0]!, /\r\nconnection: keep-alive\r\nkeep-alive: timeout=5\r\n\r\naaaa$/);
    assert.match(answers[1]!, /"by": "lane"/);
    assert.match(answers[2]!, /\r\ncontent-length: 4\r\n/);
    assert.match(answers[2]!, /\r\n\r\n$/, 'a HEAD answer has no body');
  });

  it('hands a connection to node:http at the first request it does not take, with that request', async () => {
    const text = await exchange('GET /cache?what=aaaa HTTP/1.1\nHost: n\n\nGET /health HTTP/1.1\nHost: n\n\nGET /cache?what=bbbb HTTP/1.1\nHost: n\n\n', /"url": "\/cache\?what=bbbb"/);
    assert.match(text, /\r\n\r\naaaa/);
    assert.match(text, /"by": "node:http",\s+"url": "\/health"/);
    assert.match(text, /"by": "node:http",\s+"url": "\/cache\?what=bbbb"/, 'later requests stay with node:http');
  });

  it('leaves a malformed head to node:http, which refuses it', async () => {
    const text = await exchange('GET /cache HTTP/1.1\nHost: n\nAccept: a\x01b\n\n');
    assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
  });

  it('writes a stored variant\'s prepared fields and body after the answer\'s own fields, for GET and HEAD alike', async () => {
    const text = await exchange('GET /cache?what=stored HTTP/1.1\nHost: n\n\nHEAD /cache?what=stored HTTP/1.1\nHost: n\nConnection: close\n\n');
    const head = (connection: string) =>
      `HTTP/1.1 200 OK\r\nage: 7\r\nx-extra: yes\r\n${connection}content-type: text/plain\r\ndate: Mon, 01 Jan 2024 00:00:00 GMT\r\ncontent-length: 6\r\n\r\n`;
    assert.equal(text, head('connection: keep-alive\r\nkeep-alive: timeout=5\r\n') + 'stored' + head('connection: close\r\n'));
  });

  it('writes a large stored body kept apart from its fields after them', async () => {
    const text = await exchange('GET /cache?what=stored-big HTTP/1.1\nHost: n\n\nHEAD /cache?what=stored-big HTTP/1.1\nHost: n\nConnection: close\n\n');
    const head = `\r\ncontent-type: text/plain\r\ndate: Mon, 01 Jan 2024 00:00:00 GMT\r\ncontent-length: ${BIG.length}\r\n\r\n`;
    const [get, headAnswer] = text.split(/(?=HTTP\/1\.1 )/);
    assert.ok(get!.endsWith(head + BIG.toString('latin1')), 'GET: the fields, then the whole body');
    assert.ok(headAnswer!.endsWith(head), 'HEAD: the fields only');
  });

  it('streams a body of unknown length in chunks', async () => {
    const text = await exchange('GET /cache?what=stream HTTP/1.1\nHost: n\n\n', /0\r\n\r\n$/);
    assert.match(text, /\r\ntransfer-encoding: chunked\r\n\r\n4\r\none,\r\n3\r\ntwo\r\n0\r\n\r\n$/);
  });

  it('ends the connection after an answer to Connection: close', async () => {
    const text = await exchange('GET /cache?what=aaaa HTTP/1.1\nHost: n\nConnection: close\n\nGET /cache?what=bbbb HTTP/1.1\nHost: n\n\n');
    assert.match(text, /\r\nconnection: close\r\n\r\naaaa$/, 'one answer, then the end of the connection');
  });

  it('refuses to write a field that would split the response, in characters or in the bytes they become', async () => {
    for (const what of ['split', 'wide']) {
      const text = await exchange(`GET /cache?what=${what} HTTP/1.1\nHost: n\nConnection: close\n\n`);
      assert.match(text, /^HTTP\/1\.1 500 /, what);
      assert.doesNotMatch(text, /set-cookie/, what);
    }
  });

  it('answers 408 and closes when a head does not end within headersTimeout', async () => {
    const started = Date.now();
    const text = await exchange('GET /cache?what=aaaa HTTP/1.1\nHost: n\n');
    assert.equal(text, 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
    assert.ok(Date.now() - started >= 250);
  });

  it('stops answering a client that leaves its answers unread, and goes on once it reads them', async () => {
    const requests = 200; // 50 MiB of answers: far more than the kernel's socket buffers hold
    const socket = connect(port, '127.0.0.1');
    socket.pause();
    socket.write('GET /cache?what=big HTTP/1.1\r\nHost: n\r\n\r\n'.repeat(requests));
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.ok(bigAnswers < requests / 2, `answered ${bigAnswers} of ${requests} requests while nothing was read`);
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= requests * BIG.length) socket.destroy();
    });
    socket.resume();
    await once(socket, 'close');
    assert.equal(bigAnswers, requests);
  });

  it('ends a half-closed connection after the answers it owes, without handing it to node:http', async () => {
    const socket = connect(port, '127.0.0.1');
    const started = Date.now();
    const text = exchange('GET /cache?what=later HTTP/1.1\nHost: n\n\nGET /health HTTP/1.1\nHost: n\n\n', undefined, socket);
    socket.end();
    const received = await text;
    assert.match(received, /"by": "lane"/);
    assert.doesNotMatch(received, /node:http/);
    assert.ok(Date.now() - started < 2000, 'closed at once, not after the keep-alive timeout');
  });

  it('closes a connection waiting for its next request when the server closes (last: the server stays closing)', async () => {
    const idle = connect(port, '127.0.0.1');
    idle.write('GET /cache?what=aaaa HTTP/1.1\r\nHost: n\r\n\r\n');
    await once(idle, 'data');
    const closed = once(idle, 'close');
    server.closeIdleConnections();
    await closed;
  });
});

describe('cache lane - reads no head otherwise than node:http', () => {
  /** What node:http made of a head: the request it saw and whether it kept the connection, or its refusal. */
  interface NodeView {
    readonly status: number;
    readonly request?: { method: string; url: string; headers: Record<string, string | string[] | undefined> };
    readonly keepAlive: boolean;
  }
  let server: ReturnType<typeof createServer>;
  let port: number;
  before(async () => {
    // In a field, base64: a HEAD's answer has no body.
    server = createServer((req, res) => res.setHeader('x-seen', Buffer.from(JSON.stringify({ method: req.method, url: req.url, headers: req.headers })).toString('base64')).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  async function nodeView(bytes: Buffer): Promise<NodeView> {
    const socket = connect(port, '127.0.0.1');
    socket.write(bytes);
    const parts: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      parts.push(chunk);
      // One answer is all there is to read: node:http's to a head, or its refusal (then it closes).
      if (Buffer.concat(parts).includes('\r\n\r\n')) socket.destroy();
    });
    await once(socket, 'close');
    const text = Buffer.concat(parts).toString('latin1');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
    const keepAlive = /\r\nconnection: keep-alive\r\n/i.test(text);
    const seen = /\r\nx-seen: ([A-Za-z0-9+/=]+)\r\n/.exec(text)?.[1];
    return { status, keepAlive, request: seen === undefined ? undefined : JSON.parse(Buffer.from(seen, 'base64').toString('utf8')) };
  }

  /** Where the first head in `bytes` ends: after its first empty line (CR LF or a bare LF). */
  function firstHeadEnd(bytes: Buffer): number {
    for (let at = 0; ; ) {
      const lf = bytes.indexOf(10, at);
      if (lf < 0) return -1;
      if (at > 0 && lf - at === (bytes[lf - 1] === 13 ? 1 : 0)) return lf + 1;
      at = lf + 1;
    }
  }

  const chars = (set: string, maxLength: number) => fc.string({ unit: fc.constantFrom(...set.split('')), maxLength });
  /** Mostly what the lane takes, sometimes not: the heads near its border are the ones worth comparing. */
  const mostly = <T,>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<T>) => fc.oneof({ arbitrary: usual, weight: 6 }, { arbitrary: odd, weight: 1 });
  const target = mostly(
    fc.oneof(fc.constant('/cache'), chars('abc%2F:?#=&/', 12).map((q) => `/cache?url=${q}`)),
    fc.oneof(chars('a"<>\x7f\x80 ', 4).map((q) => `/cache?url=${q}`), fc.constantFrom('/cachex', '/health', 'http://n/cache', '*', '/cache/')),
  );
  const fieldName = mostly(
    fc.constantFrom('Accept', 'accept', 'Accept-Encoding', 'User-Agent', 'user-agent', 'Cache-Control', 'Pragma', 'If-None-Match', 'If-Modified-Since', 'Connection', 'X-Other'),
    fc.constantFrom('Host', 'Content-Length', 'Transfer-Encoding', 'Bad Name', '', 'Accept\t', 'Hé'),
  );
  const fieldValue = mostly(chars('ab, \tclose', 10), chars('a \t\x00\x01\x7f\x80\xff\r\n:', 6));
  const separator = mostly(fc.constantFrom(':', ': ', ':\t', ':  '), fc.constant(' :'));
  const head = fc
    .record({
      method: mostly(fc.constantFrom('GET', 'HEAD'), fc.constantFrom('POST', 'get')),
      target,
      version: mostly(fc.constant('HTTP/1.1'), fc.constantFrom('HTTP/1.0', 'HTTP/1.1 ')),
      host: mostly(fc.constant(true), fc.constant(false)),
      fields: fc.array(fc.tuple(fieldName, separator, fieldValue), { maxLength: 6 }),
      lineEnd: mostly(fc.constant('\r\n'), fc.constant('\n')),
    })
    .map(({ method, target, version, host, fields, lineEnd }) => {
      const lines = [`${method} ${target} ${version}`, ...(host ? ['Host: n'] : []), ...fields.map(([name, sep, value]) => `${name}${sep}${value}`)];
      return Buffer.from(lines.join(lineEnd) + lineEnd + lineEnd, 'latin1');
    });

  it('every head the lane reads, node:http reads too, with the same method, target, cache fields and keep-alive', async () => {
    let read = 0;
    await fc.assert(
      fc.asyncProperty(head, async (bytes) => {
        const lane = readLaneRequest(bytes, 0);
        if (typeof lane !== 'object') return;
        read++;
        const node = await nodeView(bytes);
        assert.equal(node.status, 200, `node:http refused what the lane read: ${JSON.stringify(bytes.toString('latin1'))}`);
        assert.equal(lane.method, node.request!.method);
        assert.equal(lane.url, node.request!.url);
        const nodeFields = Object.fromEntries(CACHE_REQUEST_HEADERS.flatMap((name) => (node.request!.headers[name] === undefined ? [] : [[name, node.request!.headers[name]]])));
        assert.deepEqual(lane.headers, nodeFields, JSON.stringify(bytes.toString('latin1')));
        assert.equal(lane.close, !node.keepAlive, `Connection: close read differently: ${JSON.stringify(bytes.toString('latin1'))}`);
        // A generated value of CR LF ends the head early, for node:http as for the lane.
        assert.equal(lane.end, firstHeadEnd(bytes), 'the lane read the whole head, and only it');
      }),
      { numRuns: 400 },
    );
    assert.ok(read > 50, `only ${read} of 400 generated heads were the lane's: the generator misses what it should test`);
  });
});
