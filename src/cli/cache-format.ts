import { STATUS_CODES } from 'node:http';
import type { HttpAnswer } from '../client/cache-http-client.js';

/**
 * What cache-client prints. Every field of the HTTP API (docs/api.md) may be missing from a node's answer (an
 * older node, a partial implementation): it then shows as "?" rather than failing.
 */

/** A JSON object as a node sends it; fields are read defensively. */
type Json = Record<string, unknown>;

const LABEL = 13;
const line = (label: string, value: string) => (label === '' ? ' '.repeat(LABEL) + value : `${label.padEnd(LABEL - 1)} ${value}`);

function obj(value: unknown): Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

function num(value: unknown, digits = 0): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '?';
}

/** A ratio in [0, 1] (how /metrics reports hit_rate and utilization) as a percentage. */
function percent(value: unknown): string {
  return typeof value === 'number' && Number.isFinite(value) ? `${(value * 100).toFixed(1)} %` : '?';
}

function str(value: unknown): string {
  return typeof value === 'string' && value !== '' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '?';
}

export function bytes(value: unknown): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = value;
  let unit = 0;
  while (Math.abs(n) >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${n.toFixed(1)} ${units[unit]}`;
}

function header(answer: HttpAnswer, name: string): string | undefined {
  const value = answer.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The first bytes of a body: quoted text if it is text, hex otherwise. */
export function preview(body: Buffer, max: number): string {
  const head = body.subarray(0, max);
  const more = body.length > max ? '…' : '';
  const text = head.toString('utf8');
  // U+FFFD means invalid UTF-8 (or a character cut at the edge, which is rare enough to show as hex).
  const isText = !text.includes('\uFFFD') && !/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(text);
  return isText ? `${JSON.stringify(text)}${more}` : `hex ${head.toString('hex')}${more}`;
}

/** A /cache answer: status, what the cache did and where, latency, and the first bytes. */
export function formatCacheAnswer(answer: HttpAnswer, previewBytes = 64): string {
  const h = (name: string) => header(answer, name) ?? '-';
  const nodeLatency = header(answer, 'x-latency-ms');
  const lines = [
    line('status', `${answer.status} ${STATUS_CODES[answer.status] ?? ''}`.trimEnd()),
    line('x-cache', h('x-cache')),
    line('node', h('x-node-id')),
    line('responsible', h('x-responsible-node')),
    line('hops', h('x-hops')),
  ];
  const age = header(answer, 'age');
  if (age !== undefined) lines.push(line('age', `${age} s`));
  lines.push(line('latency', `${answer.latencyMs.toFixed(1)} ms${nodeLatency === undefined ? '' : ` (node: ${nodeLatency} ms)`}`));
  const type = header(answer, 'content-type');
  lines.push(line('body', `${answer.body.length} bytes${type ? `, ${type}` : ''}`));
  if (answer.body.length > 0) lines.push(line('', preview(answer.body, previewBytes)));
  return lines.join('\n');
}

/** The main figures of /metrics, one concern per line. */
export function formatMetrics(metrics: unknown): string {
  const m = obj(metrics);
  const node = obj(m['node']);
  const cache = obj(m['cache']);
  const routing = obj(m['routing']);
  const lookups = obj(m['lookups']);
  const hot = obj(m['hotspots']);
  return [
    line('node', `${str(node['id'])}  ${str(node['addr'])}  ${str(node['protocol'])}`),
    line('cache', `hit rate ${percent(cache['hit_rate'])}  (${num(cache['hits'])} hits, ${num(cache['misses'])} misses)  ${num(cache['stores'])} stores  ${num(cache['evictions'])} evictions`),
    line('storage', `${num(cache['entry_count'])} entries  ${bytes(cache['size_bytes'])} of ${bytes(cache['capacity_bytes'])}  (${percent(cache['utilization'])} used)`),
    line('hotspots', `${num(hot['count'])} hot URLs`),
    line(
      'routing',
      `${num(routing['successor_count'])} successors  ${num(routing['debruijn_count'])} de Bruijn  ${num(routing['finger_count'])} fingers  predecessor ${routing['has_predecessor'] === undefined ? '?' : routing['has_predecessor'] ? 'yes' : 'no'}`,
    ),
    line(
      'lookups',
      `${num(lookups['count'])}  hops avg ${num(lookups['hops_avg'], 2)} p99 ${num(lookups['hops_p99'], 1)}  latency p50 ${num(lookups['latency_ms_p50'], 1)} ms p99 ${num(lookups['latency_ms_p99'], 1)} ms`,
    ),
  ].join('\n');
}

/** The hotspots part of /metrics: how many, then each URL (with its figures, if the node gives any). */
export function formatHotspots(metrics: unknown): string {
  const hot = obj(obj(metrics)['hotspots']);
  const urls = Array.isArray(hot['urls']) ? (hot['urls'] as unknown[]) : [];
  const count = typeof hot['count'] === 'number' ? hot['count'] : urls.length;
  const entries = urls.map((entry) => {
    if (typeof entry === 'string') return `  ${entry}`;
    const { url, ...rest } = obj(entry);
    const figures = Object.entries(rest).map(([k, v]) => `${k} ${typeof v === 'number' ? +v.toFixed(2) : JSON.stringify(v)}`);
    return `  ${str(url)}${figures.length ? `  (${figures.join(', ')})` : ''}`;
  });
  return [`${count} hot URL${count === 1 ? '' : 's'}`, ...entries].join('\n');
}

/** /health: the state first, then the details the node gives. */
export function formatHealth(status: number, health: unknown): string {
  const h = obj(health);
  const state = `${str(h['status'])}  ${h['healthy'] === true ? 'healthy' : 'not healthy'}  (HTTP ${status})`;
  const details = Object.entries(obj(h['details'])).map(([k, v]) => line(`  ${k}`, typeof v === 'string' ? v : JSON.stringify(v)));
  return [line('status', state), line('node', str(h['node_id'])), ...details].join('\n');
}

/** /debug is a node's routing state; its shape is the node's to choose, so it is shown as indented JSON. */
export function formatDebug(debug: unknown): string {
  return JSON.stringify(debug, null, 2);
}
