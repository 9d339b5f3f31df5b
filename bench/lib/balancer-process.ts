/**
 * The local balancer in a process of its own, so a benchmark's own event loop does not relay
 * the traffic it measures:
 *   node --import tsx bench/lib/balancer-process.ts <port> <backend-url>...
 * Prints `listening` once its first health check is done; exits with its parent.
 */
import { LoadBalancer } from '../../src/cluster/load-balancer.js';
import { whenParentGone } from '../../src/cluster/parent-pipe.js';

const [port, ...backends] = process.argv.slice(2);
const balancer = new LoadBalancer(backends);
await balancer.listen(Number(port));
process.stdout.write('listening\n');
whenParentGone(process.env, () => process.exit(1));
process.once('SIGTERM', () => void balancer.close().then(() => process.exit(0)));
