import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { classifyAddress, normalizeHost, OriginPolicy, type AddressClass } from '../../src/cache/origin/address-policy.js';

// Classification only: nothing here opens a connection to any of these addresses.
const TABLE: [string, AddressClass][] = [
  // IPv4, both edges of each range and the public neighbours just outside it
  ['0.0.0.0', 'unspecified'],
  ['0.255.255.255', 'unspecified'],
  ['1.0.0.0', 'public'],
  ['9.255.255.255', 'public'],
  ['10.0.0.0', 'private'],
  ['10.255.255.255', 'private'],
  ['11.0.0.0', 'public'],
  ['100.63.255.255', 'public'],
  ['100.64.0.0', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['100.128.0.0', 'public'],
  ['126.255.255.255', 'public'],
  ['127.0.0.0', 'loopback'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.255', 'loopback'],
  ['128.0.0.0', 'public'],
  ['169.253.255.255', 'public'],
  ['169.254.0.0', 'link-local'],
  ['169.254.169.254', 'link-local'], // cloud metadata
  ['169.254.255.255', 'link-local'],
  ['169.255.0.0', 'public'],
  ['172.15.255.255', 'public'],
  ['172.16.0.0', 'private'],
  ['172.31.255.255', 'private'],
  ['172.32.0.0', 'public'],
  ['192.0.0.0', 'reserved'],
  ['192.0.0.255', 'reserved'],
  ['192.0.1.0', 'public'],
  ['192.0.2.0', 'reserved'],
  ['192.0.2.255', 'reserved'],
  ['192.88.99.1', 'reserved'],
  ['192.167.255.255', 'public'],
  ['192.168.0.0', 'private'],
  ['192.168.255.255', 'private'],
  ['192.169.0.0', 'public'],
  ['198.17.255.255', 'public'],
  ['198.18.0.0', 'reserved'],
  ['198.19.255.255', 'reserved'],
  ['198.20.0.0', 'public'],
  ['198.51.100.7', 'reserved'],
  ['203.0.113.200', 'reserved'],
  ['223.255.255.255', 'public'],
  ['224.0.0.0', 'multicast'],
  ['239.255.255.255', 'multicast'],
  ['240.0.0.0', 'reserved'],
  ['255.255.255.255', 'reserved'], // broadcast
  ['8.8.8.8', 'public'],
  ['1.1.1.1', 'public'],
  // IPv6
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['fc00::', 'private'],
  ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'private'],
  ['fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
  ['fe00::1', 'reserved'],
  ['fe80::', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'link-local'],
  ['fec0::1', 'private'],
  ['ff00::', 'multicast'],
  ['ff02::1', 'multicast'],
  ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'multicast'],
  ['2001:db8::', 'reserved'],
  ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
  ['2001:db9::1', 'public'],
  ['2001::1', 'reserved'], // Teredo
  ['3fff::1', 'reserved'],
  ['100::1', 'reserved'],
  ['4000::1', 'reserved'], // outside 2000::/3
  ['1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
  ['2000::', 'public'],
  ['2606:4700::1', 'public'],
  ['2001:4860:4860::8888', 'public'],
  ['3ffe:ffff::1', 'public'],
  // IPv6 forms that embed an IPv4 address are classified by that address
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::FFFF:7F00:0001', 'loopback'],
  ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
  ['::ffff:169.254.169.254', 'link-local'],
  ['::ffff:a9fe:a9fe', 'link-local'],
  ['::ffff:10.1.2.3', 'private'],
  ['::ffff:100.64.0.1', 'cgnat'],
  ['::ffff:0.0.0.0', 'unspecified'],
  ['::ffff:224.0.0.1', 'multicast'],
  ['::ffff:8.8.8.8', 'public'],
  ['::ffff:808:808', 'public'],
  ['::127.0.0.1', 'loopback'], // deprecated IPv4-compatible
  ['::a9fe:a9fe', 'link-local'],
  ['::ffff:0:127.0.0.1', 'loopback'], // IPv4-translated
  ['64:ff9b::169.254.169.254', 'link-local'], // NAT64 well-known prefix
  ['64:ff9b::808:808', 'public'],
  ['64:ff9b:1::1', 'private'], // local-use NAT64
  ['2002:7f00:1::', 'loopback'], // 6to4 of 127.0.0.1
  ['2002:a9fe:a9fe::1', 'link-local'],
  ['2002:808:808::1', 'public'],
];

describe('origin - classifyAddress', () => {
  for (const [ip, expected] of TABLE) {
    it(`${ip} is ${expected}`, () => assert.equal(classifyAddress(ip), expected));
  }

  it('refuses text that is not a canonical address', () => {
    for (const text of ['localhost', '127.1', '2130706433', '0177.0.0.1', '256.0.0.1', '1.2.3', '1::2::3', '[::1]', '', '::ffff:1.2.3', '1:2:3:4:5:6:7:8:9']) {
      assert.throws(() => classifyAddress(text), { code: 'ERR_INVALID_ARGUMENT' }, text);
    }
  });

  it('classifies an IPv4-mapped IPv6 address, in either notation, as its IPv4 address', () => {
    fc.assert(
      fc.property(fc.ipV4(), (v4) => {
        const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number];
        const hex = `::ffff:${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
        const cls = classifyAddress(v4);
        assert.equal(classifyAddress(`::ffff:${v4}`), cls);
        assert.equal(classifyAddress(hex), cls);
      }),
    );
  });

  it('localhost resolves (through /etc/hosts, not the network) to loopback addresses only', async () => {
    const addresses = await lookup('localhost', { all: true });
    assert.ok(addresses.length > 0);
    for (const { address } of addresses) assert.equal(classifyAddress(address), 'loopback', address);
  });
});

describe('origin - normalizeHost', () => {
  const cases: [string, string][] = [
    ['2130706433', '127.0.0.1'], // decimal
    ['0x7f000001', '127.0.0.1'], // hex
    ['0X7F.0.0.1', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'], // octal
    ['127.1', '127.0.0.1'], // short
    ['127.0.1', '127.0.0.1'],
    ['0', '0.0.0.0'],
    ['0xa9fea9fe', '169.254.169.254'],
    ['169.254.43518', '169.254.169.254'],
    ['LocalHost', 'localhost'],
    ['EXAMPLE.com', 'example.com'],
    ['::1', '::1'],
    ['[::1]', '::1'],
    ['[0:0:0:0:0:ffff:127.0.0.1]', '::ffff:7f00:1'],
  ];
  for (const [host, expected] of cases) {
    it(`${host} → ${expected}`, () => assert.equal(normalizeHost(host), expected));
  }

  it('every IPv4 spelling of an internal address classifies as internal', () => {
    for (const host of ['2130706433', '0x7f000001', '0177.0.0.1', '127.1', '0xa9fea9fe', '012.0.0.1', '0']) {
      assert.notEqual(classifyAddress(normalizeHost(host)), 'public', host);
    }
  });

  it('refuses what is not a bare host', () => {
    for (const host of ['', 'exa mple.com', 'host:80', 'user@host', 'host/path', '[::1', '256.256.256.256', 'host?x']) {
      assert.throws(() => normalizeHost(host), { code: 'ERR_INVALID_ARGUMENT' }, host);
    }
  });
});

describe('origin - OriginPolicy', () => {
  it('lets every public address through, with or without an allowlist', () => {
    for (const policy of [new OriginPolicy([]), new OriginPolicy(['127.0.0.1'])]) {
      policy.check('example.com', '93.184.215.14');
      policy.check('example.com', '2606:4700::1');
    }
  });

  it('refuses an internal address that is not allow-listed, naming the host and the setting; the address a name resolved to only in the cause', () => {
    const policy = new OriginPolicy([]);
    assert.throws(
      () => policy.check('metadata.internal', '169.254.169.254'),
      (err: Error & { code: string }) => {
        assert.equal(err.code, 'ERR_ORIGIN_FORBIDDEN');
        assert.match(err.message, /"metadata\.internal"/);
        assert.doesNotMatch(err.message, /169\.254/, 'the client is not told where the name points');
        assert.match(err.message, /CACHE_ORIGIN_ALLOWLIST/);
        assert.match((err.cause as Error).message, /169\.254\.169\.254, a link-local address/, 'the operator is');
        return true;
      },
    );
    assert.throws(() => policy.check('127.0.0.1', '127.0.0.1'), /^DhtError: origin 127\.0\.0\.1 is a loopback address; .*add "127\.0\.0\.1" to CACHE_ORIGIN_ALLOWLIST/);
    assert.throws(() => policy.check('x', '::ffff:7f00:1'), (err: Error) => /loopback/.test((err.cause as Error).message));
    assert.throws(() => policy.check('x', '0.0.0.0'), (err: Error) => /an unspecified address/.test((err.cause as Error).message));
    assert.equal(policy.permits('x', '10.0.0.1'), false);
  });

  it('allow-lists a host name exactly and case-insensitively, whatever it resolves to', () => {
    const policy = new OriginPolicy(['Origin.Test']);
    policy.check('origin.test', '127.0.0.1');
    policy.check('ORIGIN.TEST.', '10.9.9.9');
    assert.throws(() => policy.check('www.origin.test', '127.0.0.1'), { code: 'ERR_ORIGIN_FORBIDDEN' });
    assert.throws(() => policy.check('origin.test.evil', '127.0.0.1'), { code: 'ERR_ORIGIN_FORBIDDEN' });
  });

  it('allow-lists single addresses, in any spelling and in their IPv4-mapped form', () => {
    const policy = new OriginPolicy(['127.0.0.1', '[::1]', '0x7f000003']);
    policy.check('anything', '127.0.0.1');
    policy.check('anything', '::ffff:127.0.0.1');
    policy.check('anything', '::ffff:7f00:1');
    policy.check('anything', '::1');
    policy.check('anything', '127.0.0.3');
    assert.throws(() => policy.check('anything', '127.0.0.2'), { code: 'ERR_ORIGIN_FORBIDDEN' });
  });

  it('allow-lists CIDRs, IPv4 and IPv6, host bits or not', () => {
    const policy = new OriginPolicy(['10.0.0.0/8', ' 192.168.1.77/24 ', 'fd00::/8', '::ffff:172.16.0.0/108', '']);
    policy.check('h', '10.255.0.1');
    policy.check('h', '::ffff:10.0.0.1');
    policy.check('h', '192.168.1.1');
    policy.check('h', 'fd12::1');
    policy.check('h', '172.31.0.1');
    for (const address of ['100.64.0.1', '192.168.2.1', 'fc00::1', '192.168.16.1', '127.0.0.1']) {
      assert.throws(() => policy.check('h', address), { code: 'ERR_ORIGIN_FORBIDDEN' }, address);
    }
  });

  it('rejects a bad allowlist entry at construction, naming it', () => {
    for (const entry of ['http://origin', '127.0.0.1:9000', '10.0.0.0/33', 'fd00::/129', '*.example.com', 'bad host', 'a/b', '1.2.3.4/']) {
      assert.throws(
        () => new OriginPolicy(['127.0.0.1', entry]),
        (err: Error & { code: string }) => err.code === 'ERR_INVALID_ARGUMENT' && err.message.includes(`CACHE_ORIGIN_ALLOWLIST entry "${entry}"`),
        entry,
      );
    }
  });

  it('rejects an address argument that is not an IP', () => {
    assert.throws(() => new OriginPolicy([]).check('h', 'localhost'), { code: 'ERR_INVALID_ARGUMENT' });
  });
});
