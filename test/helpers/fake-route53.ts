import type { IncomingMessage } from 'node:http';
import { startHttpServer, type TestServer } from './http-server.js';

export interface FakeRecord {
  readonly name: string;
  readonly type: string;
  readonly ttl: number;
  readonly values: readonly string[];
}

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/';
const tag = (xml: string, name: string) => new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1];
const tags = (xml: string, name: string) => [...xml.matchAll(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, 'g'))].map((m) => m[1]!);
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The two Route 53 REST calls the node makes (ListResourceRecordSets, ChangeResourceRecordSets),
 * on loopback, over one hosted zone, in pages of `pageSize` so that pagination is exercised.
 * Keeps the Authorization header of every call so tests can see the SDK signed them.
 */
export class FakeRoute53 {
  readonly records = new Map<string, FakeRecord>();
  readonly authorizations: string[] = [];
  private server?: TestServer;

  constructor(
    readonly zoneId: string,
    private readonly pageSize = 2,
  ) {}

  async start(): Promise<string> {
    this.server = await startHttpServer((req, res) => {
      void this.handle(req).then(({ status, body }) => res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': 'fake' }).end(body));
    });
    return this.server.url;
  }

  close(): Promise<void> {
    return this.server?.close() ?? Promise.resolve();
  }

  put(record: FakeRecord): void {
    this.records.set(`${record.name} ${record.type}`, record);
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: string }> {
    this.authorizations.push(String(req.headers.authorization ?? ''));
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const url = new URL(req.url!, 'http://route53');
    const path = url.pathname.replace(/\/+$/, '');
    if (path !== `/2013-04-01/hostedzone/${this.zoneId}/rrset`) return error(404, 'NoSuchHostedZone', `no hosted zone at ${path}`);
    return req.method === 'POST' ? this.change(body) : this.list(url.searchParams);
  }

  private list(query: URLSearchParams) {
    const sorted = [...this.records.values()].sort((a, b) => (a.name === b.name ? a.type.localeCompare(b.type) : a.name.localeCompare(b.name)));
    const startName = query.get('name');
    const from = startName ? sorted.findIndex((r) => r.name > startName || (r.name === startName && r.type >= (query.get('type') ?? ''))) : 0;
    const page = from < 0 ? [] : sorted.slice(from, from + this.pageSize);
    const next = from < 0 ? undefined : sorted[from + this.pageSize];
    const sets = page
      .map((r) => `<ResourceRecordSet><Name>${escape(r.name)}</Name><Type>${r.type}</Type><TTL>${r.ttl}</TTL><ResourceRecords>${r.values.map((v) => `<ResourceRecord><Value>${escape(v)}</Value></ResourceRecord>`).join('')}</ResourceRecords></ResourceRecordSet>`)
      .join('');
    const more = next ? `<IsTruncated>true</IsTruncated><NextRecordName>${escape(next.name)}</NextRecordName><NextRecordType>${next.type}</NextRecordType>` : '<IsTruncated>false</IsTruncated>';
    return { status: 200, body: `<?xml version="1.0"?><ListResourceRecordSetsResponse xmlns="${NS}"><ResourceRecordSets>${sets}</ResourceRecordSets>${more}<MaxItems>${this.pageSize}</MaxItems></ListResourceRecordSetsResponse>` };
  }

  private change(body: string) {
    for (const change of tags(body, 'Change')) {
      const action = tag(change, 'Action');
      const record: FakeRecord = { name: tag(change, 'Name')!, type: tag(change, 'Type')!, ttl: Number(tag(change, 'TTL')), values: tags(change, 'Value') };
      const key = `${record.name} ${record.type}`;
      if (action === 'UPSERT') this.records.set(key, record);
      else if (action === 'DELETE') {
        const existing = this.records.get(key);
        if (!existing || JSON.stringify(existing.values) !== JSON.stringify(record.values)) return error(400, 'InvalidChangeBatch', `Tried to delete resource record set [name='${record.name}', type='${record.type}'] but it was not found`);
        this.records.delete(key);
      } else return error(400, 'InvalidInput', `unsupported action ${action}`);
    }
    return { status: 200, body: `<?xml version="1.0"?><ChangeResourceRecordSetsResponse xmlns="${NS}"><ChangeInfo><Id>/change/C1</Id><Status>PENDING</Status><SubmittedAt>2026-01-01T00:00:00Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>` };
  }
}

function error(status: number, code: string, message: string) {
  return { status, body: `<?xml version="1.0"?><ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escape(message)}</Message></Error><RequestId>fake</RequestId></ErrorResponse>` };
}
