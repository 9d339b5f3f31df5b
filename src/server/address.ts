import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]']);

/** RFC 1918 and RFC 6598 (CGNAT, used by some VPCs) IPv4 ranges. */
function isPrivateIPv4(address: string): boolean {
  const [a, b] = address.split('.').map(Number) as [number, number];
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
}

/**
 * The host this node tells peers to reach it at: NODE_HOST if set, else the bind address if it
 * is a specific one, else the first interface address matching DHT_MODE (private or public).
 */
export function advertisedHost(
  settings: { readonly host: string; readonly bind: string; readonly mode: 'private' | 'public' },
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): string {
  if (settings.host) return settings.host;
  if (!WILDCARDS.has(settings.bind)) return settings.bind;
  const external = Object.values(interfaces)
    .flat()
    .filter((i): i is NetworkInterfaceInfo => !!i && !i.internal && i.family === 'IPv4')
    .map((i) => i.address);
  const wanted = external.filter((a) => isPrivateIPv4(a) === (settings.mode === 'private'));
  return wanted[0] ?? external[0] ?? '127.0.0.1';
}

/** host:port, with IPv6 hosts in brackets. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
