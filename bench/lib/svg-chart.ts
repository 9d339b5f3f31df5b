/** A small line-chart writer: readable axes with units, a legend, no dependencies. */

export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
  /** Dashed lines mark theory or baselines. */
  readonly dashed?: boolean;
}

export interface LineChart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Logarithmic x axis (base 2), for sweeps over powers of two. */
  readonly logX?: boolean;
  readonly width?: number;
  readonly height?: number;
}

// Distinguishable in colour and in grey (markers differ too), so the chart reads without colour.
const COLOURS = ['#1b6ca8', '#d1495b', '#2e933c', '#edae49', '#66460d', '#7b2cbf', '#00798c', '#555555'];
const MARKERS = ['circle', 'square', 'triangle', 'diamond'] as const;

export function lineChart(chart: LineChart): string {
  const width = chart.width ?? 760;
  const height = chart.height ?? 460;
  const margin = { left: 72, right: 190, top: 48, bottom: 60 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const all = chart.series.flatMap((s) => s.points);
  if (all.length === 0) throw new RangeError(`chart "${chart.title}" has no points`);
  const fx = chart.logX ? Math.log2 : (x: number) => x;
  const xs = all.map(([x]) => fx(x));
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const yTicks = niceTicks(0, Math.max(...all.map(([, y]) => y)));
  const yMax = yTicks[yTicks.length - 1]!;
  const px = (x: number) => margin.left + (xMax === xMin ? plotW / 2 : ((fx(x) - xMin) / (xMax - xMin)) * plotW);
  const py = (y: number) => margin.top + plotH - (y / yMax) * plotH;

  const xTickValues = chart.logX ? [...new Set(all.map(([x]) => x))].sort((a, b) => a - b) : niceTicks(xMin, xMax);
  const parts = openChart(chart.title, width, height, margin.left, plotW, yTicks, py);
  for (const x of xTickValues) {
    parts.push(
      `<line x1="${px(x)}" x2="${px(x)}" y1="${margin.top + plotH}" y2="${margin.top + plotH + 5}" stroke="#333"/>`,
      `<text x="${px(x)}" y="${margin.top + plotH + 20}" text-anchor="middle">${formatNumber(x)}</text>`,
    );
  }
  parts.push(
    `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${margin.top + plotH}" y2="${margin.top + plotH}" stroke="#333"/>`,
    `<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#333"/>`,
    `<text x="${margin.left + plotW / 2}" y="${height - 16}" text-anchor="middle">${escape(chart.xLabel)}</text>`,
    `<text transform="translate(20 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(chart.yLabel)}</text>`,
  );
  chart.series.forEach((series, n) => {
    const colour = COLOURS[n % COLOURS.length]!;
    const marker = MARKERS[n % MARKERS.length]!;
    const points = [...series.points].sort((a, b) => a[0] - b[0]);
    const path = points.map(([x, y], i) => `${i ? 'L' : 'M'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(`<g><title>${escape(series.name)}</title><path d="${path}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`);
    if (!series.dashed) for (const [x, y] of points) parts.push(markerSvg(marker, px(x), py(y), colour, `${series.name}: ${formatNumber(y)} at ${formatNumber(x)}`));
    parts.push('</g>');
    const ly = margin.top + 8 + n * 22;
    const lx = margin.left + plotW + 18;
    parts.push(
      `<line x1="${lx}" x2="${lx + 26}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"${dash}/>`,
      series.dashed ? '' : markerSvg(marker, lx + 13, ly, colour),
      `<text x="${lx + 34}" y="${ly + 4}">${escape(series.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.filter(Boolean).join('\n') + '\n';
}

function markerSvg(kind: (typeof MARKERS)[number], x: number, y: number, colour: string, label?: string): string {
  const title = label ? `<title>${escape(label)}</title>` : '';
  const r = 4;
  switch (kind) {
    case 'circle':
      return `<circle cx="${x}" cy="${y}" r="${r}" fill="${colour}">${title}</circle>`;
    case 'square':
      return `<rect x="${x - r}" y="${y - r}" width="${2 * r}" height="${2 * r}" fill="${colour}">${title}</rect>`;
    case 'triangle':
      return `<path d="M${x},${y - r - 1} L${x + r + 1},${y + r} L${x - r - 1},${y + r} Z" fill="${colour}">${title}</path>`;
    case 'diamond':
      return `<path d="M${x},${y - r - 1} L${x + r + 1},${y} L${x},${y + r + 1} L${x - r - 1},${y} Z" fill="${colour}">${title}</path>`;
  }
}

/** The SVG element's start, the title, and the horizontal grid with its y labels. */
function openChart(title: string, width: number, height: number, left: number, plotW: number, yTicks: readonly number[], py: (y: number) => number): string[] {
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<title>${escape(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="28" font-size="16" font-weight="600">${escape(title)}</text>`,
  ];
  for (const y of yTicks) {
    parts.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${py(y)}" y2="${py(y)}" stroke="#e3e3e3"/>`,
      `<text x="${left - 8}" y="${py(y) + 4}" text-anchor="end">${formatNumber(y)}</text>`,
    );
  }
  return parts;
}

/** About five round tick values covering [min, max]. */
export function niceTicks(min: number, max: number): number[] {
  if (max <= min) return [min, min + 1];
  const raw = (max - min) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = Math.floor(min / step) * step; t < max + step - 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function formatNumber(n: number): string {
  return Math.abs(n) >= 10_000 ? n.toLocaleString('en-US') : String(Number(n.toPrecision(4)));
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export interface Bar {
  readonly label: string;
  readonly value: number;
  /** Spread of the runs behind `value`, drawn as a whisker. */
  readonly low?: number;
  readonly high?: number;
  /** Printed above the bar, e.g. a ratio. */
  readonly note?: string;
}

/** A bar chart with whiskers for the spread of repeated runs. */
export function barChart(chart: { readonly title: string; readonly yLabel: string; readonly bars: readonly Bar[]; readonly width?: number; readonly height?: number }): string {
  const width = chart.width ?? 760;
  const height = chart.height ?? 460;
  const margin = { left: 80, right: 24, top: 48, bottom: 90 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  if (chart.bars.length === 0) throw new RangeError(`chart "${chart.title}" has no bars`);
  const yTicks = niceTicks(0, Math.max(...chart.bars.map((b) => b.high ?? b.value)));
  const yMax = yTicks[yTicks.length - 1]!;
  const py = (y: number) => margin.top + plotH - (y / yMax) * plotH;
  const slot = plotW / chart.bars.length;
  const parts = openChart(chart.title, width, height, margin.left, plotW, yTicks, py);
  chart.bars.forEach((bar, n) => {
    const x = margin.left + n * slot + slot * 0.2;
    const w = slot * 0.6;
    const cx = x + w / 2;
    parts.push(`<rect x="${x}" y="${py(bar.value)}" width="${w}" height="${margin.top + plotH - py(bar.value)}" fill="${COLOURS[n % COLOURS.length]}"><title>${escape(`${bar.label}: ${formatNumber(bar.value)}`)}</title></rect>`);
    if (bar.low !== undefined && bar.high !== undefined) {
      parts.push(
        `<line x1="${cx}" x2="${cx}" y1="${py(bar.low)}" y2="${py(bar.high)}" stroke="#222" stroke-width="1.5"/>`,
        `<line x1="${cx - 6}" x2="${cx + 6}" y1="${py(bar.low)}" y2="${py(bar.low)}" stroke="#222" stroke-width="1.5"/>`,
        `<line x1="${cx - 6}" x2="${cx + 6}" y1="${py(bar.high)}" y2="${py(bar.high)}" stroke="#222" stroke-width="1.5"/>`,
      );
    }
    const top = py(bar.high ?? bar.value);
    parts.push(`<text x="${cx}" y="${top - 8}" text-anchor="middle">${escape(bar.note ?? formatNumber(bar.value))}</text>`);
    bar.label.split('\n').forEach((line, i) => parts.push(`<text x="${cx}" y="${margin.top + plotH + 20 + 16 * i}" text-anchor="middle">${escape(line)}</text>`));
  });
  parts.push(
    `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${margin.top + plotH}" y2="${margin.top + plotH}" stroke="#333"/>`,
    `<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#333"/>`,
    `<text transform="translate(20 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(chart.yLabel)}</text>`,
    '</svg>',
  );
  return parts.join('\n') + '\n';
}
