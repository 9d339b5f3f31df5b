import { open, type FileHandle } from 'node:fs/promises';
import type { Sample } from './client.js';

/** The documented columns (docs/api.md) first (a contract), then extras. */
export const CSV_COLUMNS = ['timestamp', 'url_id', 'latency_ms', 'status', 'cache_status', 'node_id', 'responsible_node', 'hops', 'target', 'bytes', 'error'] as const;

/** One line per request; empty cells where a request has no such value (no answer, no header). */
export function csvRow(sample: Sample): string {
  return csvLine([
    new Date(sample.startedAt).toISOString(),
    sample.urlId,
    sample.latencyMs.toFixed(3),
    sample.status,
    sample.cacheStatus,
    sample.nodeId,
    sample.responsibleNode,
    sample.hops,
    sample.target,
    sample.bytes,
    sample.error,
  ]);
}

/** Cells as one CSV line, quoted where needed; undefined is an empty cell. */
export function csvLine(cells: readonly (string | number | undefined)[]): string {
  return cells.map(cell).join(',');
}

function cell(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The `--output` file, written in chunks as rows arrive, so a long run keeps no rows in memory. */
export class CsvFile<Row = Sample> {
  private static readonly FLUSH_BYTES = 64 * 1024;
  private pending: string[] = [];
  private pendingBytes = 0;
  private writing: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly file: FileHandle,
    private readonly toLine: (row: Row) => string,
  ) {}

  /** Opens (truncates) `path` and writes the header; fails before any request is sent. */
  static async create(path: string): Promise<CsvFile<Sample>>;
  static async create<Row>(path: string, columns: readonly string[], toLine: (row: Row) => string): Promise<CsvFile<Row>>;
  static async create(path: string, columns: readonly string[] = CSV_COLUMNS, toLine: (row: never) => string = csvRow): Promise<CsvFile<unknown>> {
    const csv = new CsvFile(await open(path, 'w'), toLine as (row: unknown) => string);
    csv.pending.push(columns.join(',') + '\n');
    return csv;
  }

  write(row: Row): void {
    const line = this.toLine(row) + '\n';
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= CsvFile.FLUSH_BYTES) this.flush();
  }

  async close(): Promise<void> {
    this.flush();
    try {
      await this.writing;
    } finally {
      await this.file.close();
    }
  }

  private flush(): void {
    const text = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    // Chained, so chunks land in order; a failed write surfaces in close().
    this.writing = this.writing.then(() => this.file.appendFile(text));
  }
}
