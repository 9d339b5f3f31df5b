// @ts-check
import { RequestRates, formatBytes, formatNumber, formatPercent, totals, traceQuery, xCacheShares } from './model.js';
import { RingView } from './ring-view.js';

/**
 * @typedef {import('./model.js').ClusterView} ClusterView
 * @typedef {import('./model.js').Member} Member
 * @typedef {import('./model.js').Trace} Trace
 */

/** How often /cluster is polled; `?refresh=<ms>` overrides it (500 ms to 60 s). */
const REFRESH_MS = (() => {
  const asked = Number(new URLSearchParams(location.search).get('refresh'));
  return Number.isFinite(asked) && asked >= 500 && asked <= 60_000 ? asked : 1500;
})();

/** Trace kinds in words, for the hop table (the drawing tells them apart by line and marker). */
const KIND_NAMES = /** @type {Record<string, string>} */ ({
  debruijn: 'de Bruijn',
  correction: 'correction',
  finger: 'finger',
  successor: 'successor',
  forward: 'forward',
});

/** Lookup steps by kind, singular and plural, for the trace summary. */
const STEP_NAMES = /** @type {Record<string, [string, string]>} */ ({
  debruijn: ['de Bruijn step', 'de Bruijn steps'],
  correction: ['correction', 'corrections'],
  finger: ['finger', 'fingers'],
  successor: ['successor step', 'successor steps'],
});

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {Array<Node | string>} children
 */
function html(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  el.append(...children);
  return el;
}

/** @param {string} id @param {string} text */
function setText(id, text) {
  const el = byId(id);
  if (el.textContent !== text) el.textContent = text;
}

class Dashboard {
  rates = new RequestRates();
  /** @type {ClusterView | undefined} */
  view;
  /** @type {string | undefined} */
  selected;
  paused = false;
  /** True while a poll is on its way: resuming then must not start a second loop. */
  polling = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  timer;

  constructor() {
    this.ring = new RingView(/** @type {SVGSVGElement} */ (/** @type {unknown} */ (byId('ring'))), (addr) => this.select(addr));
    byId('pause').addEventListener('click', () => this.togglePause());
    byId('trace-form').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.trace();
    });
    byId('members-table').addEventListener('click', (event) => {
      const button = /** @type {Element} */ (event.target).closest('button[data-addr]');
      if (button) this.select(/** @type {string} */ (button.getAttribute('data-addr')));
    });
  }

  async poll() {
    this.timer = undefined;
    this.polling = true;
    const started = performance.now();
    try {
      const res = await fetch('/cluster', { cache: 'no-store' });
      if (!res.ok) throw new Error(await errorMessage(res));
      const view = /** @type {ClusterView} */ (await res.json());
      this.rates.update(view.members, performance.now());
      this.update(view);
      setText('updated', `updated ${new Date().toLocaleTimeString()}`);
      setText('problem', '');
    } catch (err) {
      // Shown, not logged: the node may be restarting, and the next poll will tell.
      setText('problem', `Could not read the ring (${err instanceof Error ? err.message : String(err)}); retrying.`);
    }
    // A large ring takes a while to describe: wait at least twice that long, to keep the load
    // a dashboard puts on the ring bounded.
    const wait = Math.max(REFRESH_MS, 2 * (performance.now() - started));
    this.polling = false;
    if (!this.paused) this.timer = setTimeout(() => void this.poll(), wait);
  }

  togglePause() {
    this.paused = !this.paused;
    const button = byId('pause');
    button.setAttribute('aria-pressed', String(this.paused));
    button.textContent = this.paused ? 'Resume updates' : 'Pause updates';
    if (this.paused && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.paused && !this.timer && !this.polling) void this.poll();
  }

  /** @param {ClusterView} view */
  update(view) {
    this.view = view;
    if (this.selected && !view.members.some((m) => m.addr === this.selected)) this.selected = undefined;
    const protocol = view.protocol === 'koorde' ? `Koorde k=${view.degree}` : view.protocol === 'chord' ? 'Chord' : view.protocol;
    const ready = view.members.filter((m) => m.status === 'READY').length;
    setText('summary', `served by ${view.self.addr} · ${protocol} · ${view.bits}-bit ids · ${view.size} nodes (${ready} ready)${view.truncated ? ' · only the first members shown' : ''}`);
    byId('summary').setAttribute('data-size', String(view.size));
    setText('ring-caption', `${view.size} members, ${protocol}`);
    // The legend lists only the hop kinds this protocol takes.
    for (const item of document.querySelectorAll('.legend [data-protocol]')) {
      /** @type {HTMLElement} */ (item).hidden = item.getAttribute('data-protocol') !== view.protocol;
    }
    this.ring.render(view);
    this.renderTotals(view);
    this.renderMembers(view);
    this.renderNode();
  }

  /** @param {string} addr */
  select(addr) {
    this.selected = addr;
    this.ring.select(addr);
    this.renderNode();
    if (this.view) this.renderMembers(this.view);
  }

  /** @param {ClusterView} view */
  renderTotals(view) {
    const t = totals(view.members, this.rates);
    const answers = xCacheShares(t.byXCache);
    setText('total-rps', formatNumber(t.rps));
    setText('total-requests', String(t.requests));
    byId('total-requests').setAttribute('data-value', String(t.requests));
    setText('total-hit-rate', formatPercent(answers.hitRate));
    setText('total-origin', String(t.originFetches));
    setText('total-hops', formatNumber(t.hopsMean, 2));
    setText('total-p50', t.latencyP50Median === undefined ? '–' : `${formatNumber(t.latencyP50Median)} ms`);
    setText('total-p99', t.latencyP99Max === undefined ? '–' : `${formatNumber(t.latencyP99Max)} ms`);
    setText('total-bytes', formatBytes(t.cacheBytes));
    setText('total-entries', String(t.cacheEntries));
    setText('total-share', formatPercent(t.share, 2));
    byId('total-share').setAttribute('data-value', String(t.share));
    setText('total-balance', view.balance ? `${formatNumber(view.balance.max_share_over_mean, 2)}×` : '–');
    byId('xcache-table').querySelector('tbody')?.replaceChildren(
      ...answers.shares.map((s) => {
        const meter = html('meter', { min: '0', max: '1', value: String(s.share), 'aria-hidden': 'true' });
        return html('tr', { 'data-x-cache': s.value }, html('th', { scope: 'row' }, s.value), html('td', {}, String(s.count)), html('td', {}, formatPercent(s.share)), html('td', {}, meter));
      }),
    );
    const hot = t.hotUrls.map((h) => html('li', {}, html('span', { class: 'url' }, h.url), ` ${formatNumber(h.rate)}/s`));
    byId('hot-urls').replaceChildren(...(hot.length ? hot : [html('li', {}, 'none above the hotspot threshold')]));
  }

  /**
   * One row per member, kept across polls (updated in place), so that a keyboard user's focus
   * on a row's button survives the refresh.
   * @param {ClusterView} view
   */
  renderMembers(view) {
    const body = /** @type {HTMLElement} */ (byId('members-table').querySelector('tbody'));
    /** @type {Map<string, HTMLElement>} */
    const existing = new Map([...body.children].map((row) => [row.getAttribute('data-addr') ?? '', /** @type {HTMLElement} */ (row)]));
    const rows = view.members.map((m) => {
      const f = m.figures;
      const answers = xCacheShares(f.by_x_cache ?? {});
      const values = [
        m.id,
        formatPercent(m.share, 2),
        m.status,
        formatNumber(this.rates.rate(m.addr)),
        String(f.requests ?? '–'),
        formatPercent(answers.hitRate),
        String(f.origin_fetches ?? '–'),
        formatNumber(f.hops_avg, 2),
        formatNumber(f.latency_ms_p50),
        formatNumber(f.latency_ms_p99),
        formatBytes(f.cache_bytes),
        String(f.cache_entries ?? '–'),
      ];
      let row = existing.get(m.addr);
      if (!row) {
        const button = html('button', { type: 'button', class: 'link', 'data-addr': m.addr }, m.addr);
        row = html('tr', { 'data-addr': m.addr }, html('th', { scope: 'row' }, button), ...values.map(() => html('td')));
        /** @type {HTMLElement} */ (row.children[1]).classList.add('mono');
      }
      values.forEach((value, i) => {
        const cell = /** @type {HTMLElement} */ (row.children[i + 1]);
        if (cell.textContent !== value) cell.textContent = value;
      });
      /** @type {HTMLElement} */ (row.children[2]).setAttribute('data-share', String(m.share));
      row.classList.toggle('selected', m.addr === this.selected);
      row.querySelector('button')?.setAttribute('aria-pressed', String(m.addr === this.selected));
      return row;
    });
    // Rows already in place stay put: moving an element would take the focus off it.
    rows.forEach((row, i) => {
      if (body.children[i] !== row) body.insertBefore(row, body.children[i] ?? null);
    });
    while (body.children.length > rows.length) body.lastElementChild?.remove();
  }

  renderNode() {
    const m = this.view?.members.find((x) => x.addr === this.selected);
    byId('node-empty').hidden = m !== undefined;
    byId('node-detail').hidden = m === undefined;
    if (!m || !this.view) {
      setText('node-heading', 'Node');
      return;
    }
    setText('node-heading', `Node ${m.addr}`);
    setText('node-addr', m.addr + (m.addr === this.view.self.addr ? ' (serving this page)' : ''));
    setText('node-id', m.id);
    setText('node-status', m.status);
    setText('node-share', `${formatPercent(m.share, 2)} of the key space`);
    setText('node-predecessor', m.predecessor ?? 'none');
    const list = (/** @type {string[]} */ addrs) => (addrs.length ? addrs.map((a) => html('li', { 'data-addr': a }, a)) : [html('li', {}, 'none')]);
    byId('node-successors').replaceChildren(...list(m.successors));
    byId('node-pointers').replaceChildren(...list(m.pointers));
    const heading = this.view.protocol === 'koorde' ? 'de Bruijn list' : this.view.protocol === 'chord' ? 'Fingers' : 'Pointers';
    byId('node-pointers-heading').replaceChildren(`${heading} `, html('small', {}, '(solid, arrow)'));
    const f = m.figures;
    const answers = xCacheShares(f.by_x_cache ?? {});
    /** @type {Array<[string, string]>} */
    const facts = [
      ['Requests/s', formatNumber(this.rates.rate(m.addr))],
      ['Requests', String(f.requests ?? '–')],
      ['By X-Cache', answers.shares.filter((s) => s.count > 0).map((s) => `${s.value} ${s.count} (${formatPercent(s.share, 0)})`).join(', ') || 'no requests yet'],
      ['Origin fetches', String(f.origin_fetches ?? '–')],
      ['Mean hops', `${formatNumber(f.hops_avg, 2)} per request, ${formatNumber(f.lookup_hops_avg, 2)} per lookup`],
      ['Latency', f.requests ? `p50 ${formatNumber(f.latency_ms_p50)} ms, p99 ${formatNumber(f.latency_ms_p99)} ms` : '–'],
      ['Cache', `${formatBytes(f.cache_bytes)}, ${f.cache_entries ?? '–'} entries, store hit rate ${formatPercent(f.hit_rate)}`],
      ['Hot URLs', (f.hot_urls ?? []).map((h) => h.url).join(' ') || 'none'],
    ];
    byId('node-figures').replaceChildren(...facts.map(([name, value]) => html('div', {}, html('dt', {}, name), html('dd', {}, value))));
  }

  async trace() {
    const error = byId('trace-error');
    const input = /** @type {HTMLInputElement} */ (byId('trace-input'));
    const asked = traceQuery(input.value, this.view?.bits ?? 160);
    if ('error' in asked) {
      error.textContent = asked.error;
      input.setAttribute('aria-invalid', 'true');
      return;
    }
    input.removeAttribute('aria-invalid');
    error.textContent = '';
    try {
      const res = await fetch(`/trace?${asked.query}`, { cache: 'no-store' });
      if (!res.ok) throw new Error(await errorMessage(res));
      this.showTrace(/** @type {Trace} */ (await res.json()));
    } catch (err) {
      error.textContent = `The trace failed: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  /** @param {Trace} trace */
  showTrace(trace) {
    this.ring.showTrace(trace);
    byId('trace-result').hidden = false;
    const hops = byId('trace-hops');
    hops.textContent = `${trace.hops} ${trace.hops === 1 ? 'hop' : 'hops'}`;
    hops.setAttribute('data-hops', String(trace.hops));
    const lookup = trace.path.filter((h) => h.kind !== 'forward');
    const count = (/** @type {string} */ kind) => lookup.filter((h) => h.kind === kind).length;
    const kinds = Object.entries(STEP_NAMES)
      .filter(([kind]) => count(kind) > 0)
      .map(([kind, [one, many]]) => `${count(kind)} ${count(kind) === 1 ? one : many}`);
    const forwarded = trace.path.some((h) => h.kind === 'forward');
    const how =
      trace.via === 'hot-copy'
        ? 'this node holds a hot copy and answers itself'
        : trace.via === 'route-cache'
          ? 'this node remembers the owner (route cache), so there is no lookup'
          : `lookup of ${lookup.length} ${lookup.length === 1 ? 'step' : 'steps'}${kinds.length ? ` (${kinds.join(', ')})` : ''}`;
    const total = trace.path.reduce((sum, h) => sum + h.ms, 0);
    setText('trace-detail', `— ${how}${forwarded ? ', then a forward to the owner' : ''}. Owner ${trace.owner.addr}, key ${trace.key}, ${formatNumber(total)} ms in all.`);
    byId('trace-table').querySelector('tbody')?.replaceChildren(
      ...trace.path.map((h, i) =>
        html(
          'tr',
          { 'data-kind': h.kind },
          html('td', {}, String(i + 1)),
          html('td', {}, KIND_NAMES[h.kind] ?? h.kind),
          html('td', {}, h.from.addr),
          html('td', {}, h.to.addr),
          html('td', { class: 'mono' }, h.imaginary ? `i${i + 1} ${h.imaginary}` : '–'),
          html('td', {}, String(h.shifts)),
          html('td', {}, formatNumber(h.ms, 2)),
        ),
      ),
    );
  }
}

/**
 * The node's JSON error message (docs/api.md: `{ error, message }`), else the status line.
 * @param {Response} res
 */
async function errorMessage(res) {
  try {
    const body = /** @type {{ message?: string }} */ (await res.json());
    if (body.message) return body.message;
  } catch {
    // not JSON: the status says enough
  }
  return `HTTP ${res.status}`;
}

void new Dashboard().poll();
