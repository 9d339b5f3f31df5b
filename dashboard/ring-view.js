// @ts-check
import { bandPath, formatPercent, fraction, pointAt, shortNames } from './model.js';

/**
 * @typedef {import('./model.js').ClusterView} ClusterView
 * @typedef {import('./model.js').Member} Member
 * @typedef {import('./model.js').Trace} Trace
 */

const SVG = 'http://www.w3.org/2000/svg';
/** Geometry of the 600×600 drawing: the ring line, the band of owned arcs outside it, labels beyond. */
const CENTRE = 300;
const RING = 220;
const BAND_INNER = 226;
const BAND_OUTER = 246;
const LABEL = 262;
/** Rough width of a character of a ring label (11 px sans-serif), for keeping names apart. */
const LABEL_CHAR_WIDTH = 6.6;
/** Above this many members there is no room for names: the ring shows dots only (the table has names). */
const MAX_LABELLED = 40;
/** How much a drawn hop bows towards the centre, so that hops between the same nodes stay apart. */
const BOW = 0.22;

/**
 * @param {string} tag
 * @param {Record<string, string | number>} [attrs]
 * @param {string} [text]
 */
function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

/**
 * The turn between member i and its neighbour on one side.
 * @param {readonly number[]} turns members' positions, in ring order
 * @param {number} i
 * @param {1 | -1} side
 */
function turnGap(turns, i, side) {
  const other = /** @type {number} */ (turns[(i + side + turns.length) % turns.length]);
  return ((side * (other - /** @type {number} */ (turns[i])) % 1) + 1) % 1;
}

/**
 * The ring drawing: owned arcs, members as a keyboard-navigable list of options, the selected
 * member's neighbours and pointers as chords, and a traced lookup hop by hop.
 */
export class RingView {
  /** @type {ClusterView | undefined} */
  #view;
  /** @type {string | undefined} */
  #selected;
  /** @type {Map<string, SVGGElement>} */
  #nodes = new Map();
  /** @type {Trace | undefined} */
  #trace;

  /**
   * @param {SVGSVGElement} root an svg with g#arcs, g#chords, g#trace-layer, g#labels, g#members
   * @param {(addr: string) => void} onSelect
   */
  constructor(root, onSelect) {
    this.root = root;
    this.onSelect = onSelect;
    this.arcs = /** @type {SVGGElement} */ (root.querySelector('#arcs'));
    this.chords = /** @type {SVGGElement} */ (root.querySelector('#chords'));
    this.traceLayer = /** @type {SVGGElement} */ (root.querySelector('#trace-layer'));
    this.members = /** @type {SVGGElement} */ (root.querySelector('#members'));
    this.labels = /** @type {SVGGElement} */ (root.querySelector('#labels'));
    // A click on an owned arc selects its owner: a larger target than the dot.
    this.arcs.addEventListener('click', (event) => {
      const addr = /** @type {Element} */ (event.target).closest('[data-addr]')?.getAttribute('data-addr');
      if (addr) this.onSelect(addr);
    });
    this.members.addEventListener('keydown', (event) => this.#onKey(event));
  }

  /** @param {ClusterView} view */
  render(view) {
    this.#view = view;
    const names = shortNames(view.members.map((m) => m.addr));
    const maxShare = Math.max(...view.members.map((m) => m.share), 1e-12);
    this.arcs.replaceChildren(
      ...view.members.map((m, i) => {
        const previous = view.members[(i - 1 + view.members.length) % view.members.length] ?? m;
        const from = view.members.length === 1 ? fraction(m.id, view.bits) : fraction(previous.id, view.bits);
        const arc = svg('path', {
          class: 'arc',
          d: bandPath(from, fraction(m.id, view.bits), BAND_INNER, BAND_OUTER, CENTRE),
          // Darker for a larger share, on top of the arc's length: visible without colour.
          'fill-opacity': (0.15 + (0.75 * m.share) / maxShare).toFixed(3),
          'data-addr': m.addr,
          'data-share': m.share,
        });
        arc.append(svg('title', {}, `${m.addr} owns ${formatPercent(m.share, 2)} of the key space`));
        return arc;
      }),
    );
    const seen = new Set();
    const labelled = view.members.length <= MAX_LABELLED;
    const radius = view.members.length <= 32 ? 7 : view.members.length <= 256 ? 4 : 2.5;
    const turns = view.members.map((m) => fraction(m.id, view.bits));
    view.members.forEach((m, i) => {
      seen.add(m.addr);
      let node = this.#nodes.get(m.addr);
      if (!node) {
        node = /** @type {SVGGElement} */ (svg('g', { class: 'member', role: 'option', tabindex: -1, 'data-addr': m.addr }));
        node.addEventListener('click', () => this.onSelect(m.addr));
        this.#nodes.set(m.addr, node);
      }
      const at = pointAt(fraction(m.id, view.bits), RING, CENTRE);
      node.setAttribute('data-status', m.status);
      node.setAttribute('aria-label', `${m.addr}, id ${m.id}, owns ${formatPercent(m.share, 2)} of the key space, ${m.status}`);
      // The click target grows around the dot, but no further than halfway to a neighbour.
      const gap = view.members.length === 1 ? 1 : Math.min(turnGap(turns, i, -1), turnGap(turns, i, 1));
      const reach = Math.max(radius, Math.min(radius + 5, Math.PI * RING * gap));
      const parts = [svg('circle', { class: 'hit-area', cx: at.x, cy: at.y, r: reach.toFixed(1) }), svg('circle', { class: 'dot', cx: at.x, cy: at.y, r: radius })];
      if (m.status === 'UNREACHABLE') {
        const s = radius * 0.7;
        parts.push(svg('path', { class: 'cross', d: `M${at.x - s},${at.y - s} L${at.x + s},${at.y + s} M${at.x - s},${at.y + s} L${at.x + s},${at.y - s}` }));
      }
      node.replaceChildren(...parts);
    });
    // Names sit apart from the members' hit areas: a click on a name's spot must not land on a neighbour.
    this.labels.replaceChildren(...(labelled ? this.#placeLabels(view.members.map((m, i) => ({ turn: turns[i] ?? 0, text: names.get(m.addr) ?? m.addr }))) : []));
    for (const addr of [...this.#nodes.keys()]) if (!seen.has(addr)) this.#nodes.delete(addr);
    // In id order, so that the arrow keys walk the ring clockwise.
    this.members.replaceChildren(...view.members.map((m) => /** @type {SVGGElement} */ (this.#nodes.get(m.addr))));
    if (this.#selected && !this.#nodes.has(this.#selected)) this.#selected = undefined;
    this.#markSelection();
    this.#drawChords();
    this.#drawTrace();
  }

  /** @param {string | undefined} addr */
  select(addr) {
    this.#selected = addr;
    this.#markSelection();
    this.#drawChords();
  }

  /** @param {Trace | undefined} trace */
  showTrace(trace) {
    this.#trace = trace;
    this.#drawTrace();
  }

  /**
   * Moves the keyboard focus to a member.
   * @param {string} addr
   */
  focus(addr) {
    this.#nodes.get(addr)?.focus();
  }

  /**
   * Names outside the band, each at the first of three distances from the ring where it
   * overlaps no name already placed; a name with no room is left out (the member's aria-label,
   * its arc's title and the table still name it).
   * @param {Array<{ turn: number, text: string }>} names
   */
  #placeLabels(names) {
    /** @type {Array<{ left: number, right: number, top: number, bottom: number }>} */
    const placed = [];
    /** @type {SVGElement[]} */
    const labels = [];
    for (const { turn, text } of names) {
      for (const radius of [LABEL, LABEL + 13, LABEL + 26]) {
        const label = this.#label(turn, text, radius);
        const x = Number(label.getAttribute('x'));
        const y = Number(label.getAttribute('y'));
        const width = text.length * LABEL_CHAR_WIDTH;
        const anchor = label.getAttribute('text-anchor');
        const left = anchor === 'start' ? x : anchor === 'end' ? x - width : x - width / 2;
        const box = { left, right: left + width, top: y - 10, bottom: y + 2 };
        if (placed.some((b) => box.left < b.right && b.left < box.right && box.top < b.bottom && b.top < box.bottom)) continue;
        placed.push(box);
        labels.push(label);
        break;
      }
    }
    return labels;
  }

  /**
   * @param {number} turn
   * @param {string} text
   * @param {number} radius
   */
  #label(turn, text, radius) {
    const at = pointAt(turn, radius, CENTRE);
    const side = Math.sin(2 * Math.PI * turn);
    const anchor = Math.abs(side) < 0.2 ? 'middle' : side > 0 ? 'start' : 'end';
    const cos = Math.cos(2 * Math.PI * turn);
    return svg('text', { class: 'label', x: at.x, y: at.y + (cos < -0.5 ? 10 : cos > 0.5 ? -2 : 4), 'text-anchor': anchor }, text);
  }

  /** Roving tabindex: the selected member (else the first) is the one tab stop of the ring. */
  #markSelection() {
    const members = this.#view?.members ?? [];
    const stop = this.#selected ?? members[0]?.addr;
    for (const [addr, node] of this.#nodes) {
      node.setAttribute('aria-selected', String(addr === this.#selected));
      node.setAttribute('tabindex', addr === stop ? '0' : '-1');
      node.classList.toggle('selected', addr === this.#selected);
    }
    for (const arc of this.arcs.children) arc.classList.toggle('selected', arc.getAttribute('data-addr') === this.#selected);
  }

  /** @param {KeyboardEvent} event */
  #onKey(event) {
    const members = this.#view?.members ?? [];
    const target = /** @type {Element} */ (event.target);
    const index = members.findIndex((m) => m.addr === target.getAttribute('data-addr'));
    if (index < 0 || members.length === 0) return;
    /** @type {Record<string, number>} */
    const moves = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1, Home: -index, End: members.length - 1 - index };
    let next = index;
    if (event.key in moves) next = (index + (moves[event.key] ?? 0) + members.length) % members.length;
    else if (event.key !== 'Enter' && event.key !== ' ') return;
    event.preventDefault();
    const addr = /** @type {Member} */ (members[next]).addr;
    this.onSelect(addr);
    this.focus(addr);
  }

  /** Predecessor, successors and pointers of the selected member, as chords from it. */
  #drawChords() {
    const view = this.#view;
    const member = view?.members.find((m) => m.addr === this.#selected);
    if (!view || !member) {
      this.chords.replaceChildren();
      return;
    }
    const at = (/** @type {string} */ addr) => {
      const m = view.members.find((x) => x.addr === addr);
      return m && pointAt(fraction(m.id, view.bits), RING, CENTRE);
    };
    const from = /** @type {{x: number, y: number}} */ (at(member.addr));
    /** @type {Array<[string, string]>} */
    const lines = [
      ...member.successors.map((addr) => /** @type {[string, string]} */ (['successor', addr])),
      ...(member.predecessor ? [/** @type {[string, string]} */ (['predecessor', member.predecessor])] : []),
      ...member.pointers.map((addr) => /** @type {[string, string]} */ (['pointer', addr])),
    ];
    this.chords.replaceChildren(
      ...lines.flatMap(([role, addr]) => {
        const to = at(addr);
        if (!to || addr === member.addr) return [];
        return [svg('line', { class: `chord chord-${role}`, x1: from.x, y1: from.y, x2: to.x, y2: to.y, 'marker-end': `url(#mark-${role})`, 'data-addr': addr })];
      }),
    );
  }

  /** The traced path: one bowed line per hop, styled and marked by kind, numbered; imaginary nodes and the key on the ring. */
  #drawTrace() {
    const view = this.#view;
    const trace = this.#trace;
    if (!view || !trace) {
      this.traceLayer.replaceChildren();
      return;
    }
    const place = (/** @type {string} */ id) => pointAt(fraction(id, view.bits), RING, CENTRE);
    /** @type {SVGElement[]} */
    const drawn = [];
    // The key: a triangle just outside the band, pointing at its place on the ring.
    const keyTurn = fraction(trace.key, view.bits);
    const tip = pointAt(keyTurn, BAND_OUTER + 3, CENTRE);
    const base = pointAt(keyTurn, BAND_OUTER + 17, CENTRE);
    const across = { x: 6 * Math.cos(2 * Math.PI * keyTurn), y: 6 * Math.sin(2 * Math.PI * keyTurn) };
    const keyMarker = svg('path', { class: 'key-marker', d: `M${tip.x},${tip.y} L${base.x + across.x},${base.y + across.y} L${base.x - across.x},${base.y - across.y} Z` });
    keyMarker.append(svg('title', {}, `key ${trace.key}`));
    drawn.push(keyMarker);
    const owner = view.members.find((m) => m.addr === trace.owner.addr);
    if (owner) {
      const o = place(owner.id);
      drawn.push(svg('circle', { class: 'owner-ring', cx: o.x, cy: o.y, r: 13 }));
    }
    /** @type {SVGElement[]} */
    const badges = [];
    trace.path.forEach((hop, i) => {
      const a = place(hop.from.id);
      const b = place(hop.to.id);
      const c = { x: (a.x + b.x) / 2 + ((CENTRE - (a.x + b.x) / 2) * BOW * 2), y: (a.y + b.y) / 2 + ((CENTRE - (a.y + b.y) / 2) * BOW * 2) };
      const path = svg('path', {
        class: `hop hop-${hop.kind}`,
        d: `M${a.x},${a.y} Q${c.x},${c.y} ${b.x},${b.y}`,
        'marker-end': `url(#mark-${hop.kind})`,
        'data-kind': hop.kind,
        'data-index': i + 1,
      });
      path.append(svg('title', {}, `hop ${i + 1}: ${hop.kind} from ${hop.from.addr} to ${hop.to.addr}`));
      drawn.push(path);
      // The curve's midpoint, where the hop's number sits.
      const mid = { x: 0.25 * a.x + 0.5 * c.x + 0.25 * b.x, y: 0.25 * a.y + 0.5 * c.y + 0.25 * b.y };
      badges.push(svg('circle', { class: 'hop-badge', cx: mid.x, cy: mid.y, r: 8 }), svg('text', { class: 'hop-number', x: mid.x, y: mid.y + 3.5, 'text-anchor': 'middle' }, String(i + 1)));
    });
    // Imaginary nodes inside the ring, one diamond per value: a correction keeps i, so i3 = i4 share one.
    /** @type {Map<string, number[]>} */
    const imaginary = new Map();
    trace.path.forEach((hop, i) => {
      if (hop.imaginary) imaginary.set(hop.imaginary, [...(imaginary.get(hop.imaginary) ?? []), i + 1]);
    });
    for (const [id, steps] of imaginary) {
      const p = pointAt(fraction(id, view.bits), RING - 14, CENTRE);
      const diamond = svg('path', { class: 'imaginary', d: `M${p.x},${p.y - 5} L${p.x + 5},${p.y} L${p.x},${p.y + 5} L${p.x - 5},${p.y} Z`, 'data-steps': steps.join(',') });
      diamond.append(svg('title', {}, `imaginary node ${id} at ${steps.map((n) => `hop ${n}`).join(' and ')}`));
      drawn.push(diamond, svg('text', { class: 'imaginary-label', x: p.x, y: p.y - 7, 'text-anchor': 'middle' }, steps.map((n) => `i${n}`).join('=')));
    }
    this.traceLayer.replaceChildren(...drawn, ...badges);
  }
}
