import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { Trace } from '../../src/cache/cache-service.js';
import { IdSpace } from '../../src/id/id-space.js';
import { Oracle } from '../../src/sim/oracle.js';
import { SyntheticOrigin } from '../../src/synthetic/origin-server.js';
import { launchChromium, watchPage, type Browser, type PageGlobals } from '../helpers/browser.js';
import { expectedTables, nodeIds, startNodes, waitForStableRing, type TestNode } from '../helpers/node-cluster.js';
import { ProcessGroup, waitFor } from '../helpers/processes.js';
import { viaCache } from '../helpers/web.js';

/** Screenshots for people to look at; not committed (.gitignore), except the README's copy. */
const RESULTS = 'bench/results';
const README_SCREENSHOT = 'docs/dashboard.png';
const RING = { protocol: 'koorde' as const, degree: 2, idBits: 66, successors: 8 };
const space = new IdSpace(RING.idBits);

/**
 * A Koorde ring whose node 0 serves the dashboard with its route cache off. With the route cache
 * on, a trace fills it like a request does, so the request after a trace goes straight to the
 * owner (1 hop) while the trace showed the lookup: equal counts would then only say that both
 * read the route cache. Without it, the trace and the request each run the full lookup from the
 * same node on a stable ring, so equal counts mean the drawn path is the one the request takes.
 */
async function startRing(group: ProcessGroup, count: number): Promise<{ nodes: TestNode[]; oracle: Oracle }> {
  const nodes = await startNodes(group, count, { ...RING, env: { CACHE_ORIGIN_ALLOWLIST: '127.0.0.1' }, envFor: (i): Record<string, string> => (i === 0 ? { CACHE_ROUTE_CACHE: 'false' } : {}) });
  await waitForStableRing(nodes, RING);
  await waitFor('every node READY', async () => (await Promise.all(nodes.map((n) => fetch(`${n.http}/health`)))).every((r) => r.status === 200));
  const ids = await nodeIds(nodes);
  return { nodes, oracle: new Oracle([...ids].map(([addr, id]) => ({ addr, id })), RING.successors) };
}

async function openDashboard(page: Page, node: TestNode, members: number): Promise<void> {
  await page.goto(`${node.http}/`);
  assert.equal(new URL(page.url()).pathname, '/dashboard', 'GET / redirects to the dashboard');
  await page.waitForFunction((n) => (globalThis as unknown as PageGlobals).document.querySelectorAll('#members .member').length === n, members);
}

/** Traces `url` with the dashboard's form and returns the hop count it shows (the page's first trace). */
async function traceInPage(page: Page, url: string): Promise<number> {
  await page.fill('#trace-input', url);
  await page.press('#trace-input', 'Enter');
  const hops = await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.getElementById('trace-hops')?.getAttribute('data-hops') || undefined);
  return Number(await hops.jsonValue());
}

async function headingShows(page: Page, text: string): Promise<void> {
  await page.waitForFunction((want) => (globalThis as unknown as PageGlobals).document.getElementById('node-heading')?.textContent === want, text);
}

async function screenshot(page: Page, name: string, fullPage = false): Promise<string> {
  await mkdir(RESULTS, { recursive: true });
  const path = `${RESULTS}/${name}`;
  await page.screenshot({ path, fullPage });
  return path;
}

describe('dashboard - in chromium, on an 8-node Koorde ring', () => {
  const group = new ProcessGroup();
  const origin = new SyntheticOrigin({ port: 0 });
  let browser: Browser | undefined;
  let base = '';
  let nodes: TestNode[] = [];
  let oracle: Oracle;
  let page: Page;
  let problems: string[] = [];
  after(async () => {
    await browser?.close();
    await group.stopAll();
    await origin.close();
  });
  before(async () => {
    base = await origin.listen();
    ({ nodes, oracle } = await startRing(group, 8));
    browser = await launchChromium();
    page = await browser.context.newPage();
    problems = watchPage(page, nodes[0]!.http);
  });

  it('GET / redirects to the dashboard, which draws the 8 members, whose shares add up to 100 %', async () => {
    await openDashboard(page, nodes[0]!, 8);
    const arcs = await page.$$eval('#arcs .arc', (els) => els.map((e) => [e.getAttribute('data-addr')!, Number(e.getAttribute('data-share'))] as const));
    assert.deepEqual(
      arcs.map(([addr]) => addr),
      oracle.sorted.map((n) => n.addr),
      'one arc per member, in id order',
    );
    for (const [i, [addr, share]] of arcs.entries()) {
      assert.equal(share, Number(space.distance(oracle.sorted.at(i - 1)!.id, oracle.sorted[i]!.id)) / Number(space.size), `share of ${addr}`);
    }
    const sum = arcs.reduce((total, [, share]) => total + share, 0);
    assert.ok(Math.abs(sum - 1) < 1e-12, `shares add up to ${sum}`);
    assert.equal(await page.textContent('#total-share'), '100.00 %');
    assert.equal(await page.locator('#members-table tbody tr').count(), 8);
    const labels = await page.$$eval('#members .member', (els) => els.map((e) => [e.getAttribute('role'), e.getAttribute('aria-label')]));
    for (const [role, label] of labels) {
      assert.equal(role, 'option');
      assert.match(label!, /^127\.0\.0\.1:\d+, id 0x[0-9a-f]+, owns \d+\.\d\d % of the key space, READY$/);
    }
    await screenshot(page, 'dashboard-8.png');
    assert.deepEqual(problems, []);
  });

  it('clicking a member shows its predecessor, successors and de Bruijn list as /debug and the oracle say, drawn as chords; arrow keys move on', async () => {
    // The member with the most room around it, so that the click lands on it and not a neighbour.
    const turn = (id: bigint) => Number(id >> BigInt(RING.idBits - 52)) / 2 ** 52;
    const room = oracle.sorted.map((n, i) => {
      const gap = (a: bigint, b: bigint) => (turn(b) - turn(a) + 1) % 1;
      return Math.min(gap(oracle.sorted.at(i - 1)!.id, n.id), gap(n.id, oracle.sorted[(i + 1) % oracle.size]!.id));
    });
    const index = room.indexOf(Math.max(...room));
    const addr = oracle.sorted[index]!.addr;
    const node = nodes.find((n) => n.addr === addr)!;
    await page.click(`#members .member[data-addr="${addr}"]`);
    await headingShows(page, `Node ${addr}`);
    const shown = {
      predecessor: await page.textContent('#node-predecessor'),
      successors: await page.$$eval('#node-successors li', (els) => els.map((e) => e.getAttribute('data-addr'))),
      pointers: await page.$$eval('#node-pointers li', (els) => els.map((e) => e.getAttribute('data-addr'))),
    };
    const debug = (await (await fetch(`${node.http}/debug`)).json()) as { predecessor: { addr: string }; successors: { addr: string }[]; de_bruijn: { addr: string }[] };
    assert.deepEqual(shown, { predecessor: debug.predecessor.addr, successors: debug.successors.map((n) => n.addr), pointers: debug.de_bruijn.map((n) => n.addr) });
    const expected = expectedTables(new Map(oracle.sorted.map((n) => [n.addr, n.id])), RING).get(addr)!;
    assert.deepEqual([...shown.pointers].sort(), expected.pointers, 'the de Bruijn list of the oracle');
    assert.equal(await page.textContent('#node-pointers-heading'), 'de Bruijn list (solid, arrow)');
    const chords = await page.$$eval('#chords .chord', (els) => els.map((e) => `${e.getAttribute('class')} ${e.getAttribute('data-addr')}`));
    assert.deepEqual(chords.sort(), [...shown.successors.map((a) => `chord chord-successor ${a}`), `chord chord-predecessor ${shown.predecessor}`, ...shown.pointers.map((a) => `chord chord-pointer ${a}`)].sort());
    // The clicked member has the focus; the right arrow selects the next one clockwise.
    const next = oracle.sorted[(index + 1) % oracle.size]!.addr;
    await page.keyboard.press('ArrowRight');
    await headingShows(page, `Node ${next}`);
    assert.equal(await page.locator(':focus').getAttribute('data-addr'), next);
    assert.equal(await page.getAttribute(`#members .member[data-addr="${next}"]`, 'aria-selected'), 'true');
    assert.deepEqual(problems, []);
  });

  it('tracing a URL draws its path hop by hop, told apart without colour; its hop count is the X-Hops of a request right after', async () => {
    const serving = nodes[0]!;
    // A URL whose path has a de Bruijn step and ends with the forward to another node (the
    // serving node has no route cache, so tracing it beforehand changes nothing).
    let url = '';
    for (let i = 0; i < 40 && !url; i++) {
      const candidate = `${base}/obj/dashboard-trace-${i}`;
      const probe = (await (await fetch(`${serving.http}/trace?url=${encodeURIComponent(candidate)}`)).json()) as Trace;
      if (probe.path.some((h) => h.kind === 'debruijn') && probe.path.at(-1)?.kind === 'forward') url = candidate;
    }
    assert.ok(url, 'a URL with a de Bruijn step among the first 40');
    const hops = await traceInPage(page, url);
    const request = await viaCache(serving, url);
    assert.equal(request.status, 200);
    assert.equal(Number(request.headers.get('x-hops')), hops, 'the hop count shown = X-Hops of the request made right after');
    // Without a route cache the lookup is the same each time: the page shows what /trace says now.
    const trace = (await (await fetch(`${serving.http}/trace?url=${encodeURIComponent(url)}`)).json()) as Trace;
    const rows = await page.$$eval('#trace-table tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-kind'), tr.children[2]!.textContent, tr.children[3]!.textContent, tr.children[4]!.textContent]));
    assert.deepEqual(
      rows,
      trace.path.map((h, i) => [h.kind, h.from.addr, h.to.addr, h.imaginary ? `i${i + 1} ${h.imaginary}` : '–']),
    );
    const drawn = await page.$$eval('#trace-layer .hop', (els) =>
      els.map((e) => {
        const style = (globalThis as unknown as PageGlobals).getComputedStyle(e);
        return { kind: e.getAttribute('data-kind')!, dash: style.strokeDasharray, marker: e.getAttribute('marker-end') };
      }),
    );
    assert.deepEqual(
      drawn.map((d) => d.kind),
      trace.path.map((h) => h.kind),
    );
    // Every kind has its own dash pattern and marker shape: readable without colour.
    const looks: Record<string, string> = { debruijn: 'none arrow', correction: '7px, 4px ring', successor: '1.5px, 3.5px bar', forward: '12px, 4px, 3px, 4px square' };
    const shapes = await page.$$eval('#ring marker', (markers) => Object.fromEntries(markers.map((m) => [m.id, m.firstElementChild!.outerHTML])));
    const shapeName = (marker: string | null) => {
      const shape = shapes[/url\(#(.+)\)/.exec(marker ?? '')![1]!]!;
      return shape.startsWith('<circle') ? 'ring' : shape.includes('L10,5') ? 'arrow' : shape.includes('L6,0') ? 'bar' : 'square';
    };
    for (const d of drawn) assert.equal(`${d.dash} ${shapeName(d.marker)}`, looks[d.kind], `the look of a ${d.kind} hop`);
    assert.equal(await page.locator('#trace-layer .imaginary').count(), new Set(trace.path.map((h) => h.imaginary).filter(Boolean)).size, 'one diamond per imaginary node');
    assert.equal(await page.locator('#trace-layer .owner-ring').count(), 1);
    const legend = await page.textContent('.legend');
    for (const words of ['de Bruijn step', 'correction', 'forward to owner', 'imaginary node']) assert.ok(legend!.includes(words), words);
    assert.equal(await page.locator('.legend li:visible', { hasText: 'finger' }).count(), 0, 'no Chord fingers in a Koorde legend');
    await screenshot(page, 'dashboard-8-trace.png');
    assert.deepEqual(problems, []);
  });

  it('live figures change after a burst of requests', async () => {
    const figure = (id: string) => page.$eval(`#${id}`, (e) => ({ text: e.textContent ?? '', value: Number(e.getAttribute('data-value')) }));
    const before = await figure('total-requests');
    const originBefore = Number((await figure('total-origin')).text);
    const burst = Array.from({ length: 48 }, (_, i) => viaCache(nodes[i % nodes.length]!, `${base}/obj/burst-${i % 12}`));
    assert.ok((await Promise.all(burst)).every((r) => r.status === 200));
    await page.waitForFunction(
      (want) => {
        const { document } = globalThis as unknown as PageGlobals;
        return Number(document.getElementById('total-requests')?.getAttribute('data-value')) >= want && Number.parseFloat(document.getElementById('total-rps')?.textContent ?? '') > 0;
      },
      before.value + 48,
      { timeout: 15_000 },
    );
    assert.ok(Number((await figure('total-origin')).text) >= originBefore + 12, 'each new URL fetched from the origin once');
    const answers = await page.$$eval('#xcache-table tbody tr', (trs) => trs.map((tr) => Number(tr.children[1]!.textContent)));
    const perNode = await page.$$eval('#members-table tbody tr', (trs) => trs.map((tr) => Number(tr.children[5]!.textContent)));
    const total = Number((await figure('total-requests')).value);
    assert.equal(
      answers.reduce((a, b) => a + b, 0),
      total,
      'answers by X-Cache add up to the requests',
    );
    assert.equal(
      perNode.reduce((a, b) => a + b, 0),
      total,
      'the members’ requests add up to the total',
    );
    await screenshot(page, 'dashboard-8-live.png', true);
    assert.deepEqual(problems, []);
  });

  it('fits a phone: no horizontal scrolling at 390 px', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const widths = await page.evaluate(async () => {
      const { document, requestAnimationFrame } = globalThis as unknown as PageGlobals;
      await new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))); // laid out at the new width
      return { scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth, ring: document.getElementById('ring')!.getBoundingClientRect().width };
    });
    assert.ok(widths.scroll <= widths.client, `page ${widths.scroll} px wide in a ${widths.client} px viewport`);
    assert.ok(widths.ring <= widths.client && widths.ring > 300, `ring ${widths.ring} px`);
    await screenshot(page, 'dashboard-phone.png', true);
    assert.deepEqual(problems, []);
  });
});

describe('dashboard - the README screenshot: a 16-node Koorde ring with a traced lookup', () => {
  const group = new ProcessGroup();
  const origin = new SyntheticOrigin({ port: 0 });
  let browser: Browser | undefined;
  after(async () => {
    await browser?.close();
    await group.stopAll();
    await origin.close();
  });

  it('renders 16 members and a traced lookup with de Bruijn steps, a correction and the forward, at 1280×800', async () => {
    const base = await origin.listen();
    const { nodes } = await startRing(group, 16);
    const serving = nodes[0]!;
    // A URL whose path shows every kind of Koorde hop in a few steps, if one of the first 64 has
    // it; else the one that shows the most kinds.
    const candidates: Array<{ url: string; kinds: number; fits: boolean }> = [];
    for (let i = 0; i < 64 && !candidates.at(-1)?.fits; i++) {
      const url = `${base}/obj/${i}`;
      const trace = (await (await fetch(`${serving.http}/trace?url=${encodeURIComponent(url)}`)).json()) as Trace;
      const kinds = new Set(trace.path.map((h) => h.kind));
      const fits = kinds.has('correction') && kinds.has('forward') && trace.path.filter((h) => h.kind === 'debruijn').length >= 2 && trace.hops <= 7;
      candidates.push({ url, kinds: kinds.size, fits });
    }
    const { url } = candidates.at(-1)!.fits ? candidates.at(-1)! : candidates.reduce((best, c) => (c.kinds > best.kinds ? c : best));
    // Some traffic through the other nodes, so that the figures are not all zero.
    for (let batch = 0; batch < 9; batch++) {
      await Promise.all(Array.from({ length: 10 }, (_, i) => viaCache(nodes[1 + ((batch * 10 + i) % 15)]!, `${base}/obj/${[1, 1, 1, 2, 2, 3, 4, 5, 6, 7][i]}`)));
    }

    browser = await launchChromium({ width: 1280, height: 800 });
    const page = await browser.context.newPage();
    const problems = watchPage(page, serving.http);
    await openDashboard(page, serving, 16);
    // Selected without hit-testing: a neighbour's dot may cover this one (the 8-node test clicks).
    await page.locator(`#members .member[data-addr="${serving.addr}"]`).dispatchEvent('click');
    const hops = await traceInPage(page, url);
    assert.equal(Number((await viaCache(serving, url)).headers.get('x-hops')), hops);
    await page.waitForFunction(() => Number.parseFloat((globalThis as unknown as PageGlobals).document.getElementById('total-rps')?.textContent ?? '') >= 0); // a second poll: rates shown
    await page.locator('#trace-input').blur();
    const path = await screenshot(page, 'dashboard-16.png');
    if (process.env.UPDATE_SCREENSHOT === '1') {
      await mkdir('docs', { recursive: true });
      await copyFile(path, README_SCREENSHOT);
    }
    assert.deepEqual(problems, []);
  });
});
