import { isIP } from 'node:net';
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, Route53Client, type ResourceRecordSet, type RRType } from '@aws-sdk/client-route-53';
import type { Logger } from '../runtime/logger.js';
import { joinHostPort } from './address.js';
import type { Peer, PeerSource } from './bootstrap.js';

export interface Route53Init {
  /** The private hosted zone the records live in. */
  readonly zoneId: string;
  /** Domain of the records: a node's is `<hex id>.<suffix>`. */
  readonly suffix: string;
  readonly ttlSeconds: number;
  /** Route 53 is a global service; its API is signed for us-east-1 unless told otherwise. */
  readonly region: string;
  /** API endpoint override (a test double, a VPC endpoint); empty = AWS's. */
  readonly endpoint: string;
}

/** Route 53 answers with names fully qualified, and escapes some characters as \ooo. */
const fqdn = (name: string) => `${name.replace(/\.$/, '')}.`;

/**
 * BOOTSTRAP_MODE=route53, the original system's mode: each node keeps one SRV record
 * `<hex id>.<suffix>` → `0 0 <port> <host>.` in a private hosted zone, finds its peers by listing
 * the zone's SRV records under the suffix, and deletes its record when it leaves gracefully.
 * Credentials come from the SDK's default chain (IRSA web identity, EKS Pod Identity, env).
 */
export class Route53Registry {
  private readonly client: Route53Client;
  /** The SRV value `0 0 port host.` that names this node, whatever its id. */
  private readonly value: string;
  /** Set by register(): the record's name carries the node's id, which a balanced node picks after finding peers. */
  private record: ResourceRecordSet | undefined;

  constructor(
    private readonly init: Route53Init,
    addr: string,
    private readonly logger: Logger,
  ) {
    this.client = new Route53Client({ region: init.region || 'us-east-1', ...(init.endpoint ? { endpoint: init.endpoint } : {}) });
    const at = addr.lastIndexOf(':');
    const host = addr.slice(0, at).replace(/^\[|\]$/g, '');
    this.value = `0 0 ${addr.slice(at + 1)} ${fqdn(host)}`;
  }

  /**
   * Creates or refreshes this node's record (UPSERT: a restarted pod takes its old name over).
   * Called again with another id (a balanced node that picked its place), it renames the record.
   */
  async register(id: string, signal?: AbortSignal): Promise<void> {
    const previous = this.record;
    this.record = { Name: fqdn(`${id}.${this.init.suffix}`), Type: 'SRV', TTL: this.init.ttlSeconds, ResourceRecords: [{ Value: this.value }] };
    await this.change('UPSERT', this.record, signal);
    if (previous && previous.Name !== this.record.Name) await this.change('DELETE', previous, signal);
    this.logger.info({ record: this.record.Name, zone: this.init.zoneId }, 'registered in Route 53');
  }

  /** Removes this node's record; a record already gone is not an error. */
  async deregister(signal?: AbortSignal): Promise<void> {
    if (!this.record) return;
    try {
      await this.change('DELETE', this.record, signal);
      this.logger.info({ record: this.record.Name }, 'removed from Route 53');
    } catch (err) {
      if ((err as { name?: string }).name !== 'InvalidChangeBatch') throw err;
    }
  }

  /** Every peer with a record under the suffix, sorted by address (so every node agrees who is first). */
  readonly peers: PeerSource = async () => {
    const found: Peer[] = [];
    let start: { name?: string; type?: RRType } = {};
    do {
      const page = await this.client.send(new ListResourceRecordSetsCommand({ HostedZoneId: this.init.zoneId, StartRecordName: start.name, StartRecordType: start.type }));
      for (const set of page.ResourceRecordSets ?? []) {
        if (set.Type !== 'SRV' || !fqdn(set.Name ?? '').endsWith(`.${fqdn(this.init.suffix)}`)) continue;
        for (const { Value } of set.ResourceRecords ?? []) {
          const addr = srvTarget(Value ?? '');
          if (addr) found.push({ addr, self: Value === this.value });
        }
      }
      start = page.IsTruncated ? { name: page.NextRecordName, type: page.NextRecordType } : {};
    } while (start.name);
    return found.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
  };

  close(): void {
    this.client.destroy();
  }

  private async change(action: 'UPSERT' | 'DELETE', record: ResourceRecordSet, signal?: AbortSignal): Promise<void> {
    await this.client.send(
      new ChangeResourceRecordSetsCommand({ HostedZoneId: this.init.zoneId, ChangeBatch: { Changes: [{ Action: action, ResourceRecordSet: record }] } }),
      { abortSignal: signal },
    );
  }
}

/** `priority weight port target.` → `target:port`; anything malformed (the zone is shared) is skipped. */
export function srvTarget(value: string): string | undefined {
  const match = /^\d+ \d+ (\d{1,5}) (\S+?)\.?$/.exec(value.trim());
  if (!match || Number(match[1]) > 65535) return undefined;
  const host = match[2]!;
  if (!isIP(host) && !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(host)) return undefined;
  return joinHostPort(host, Number(match[1]));
}
