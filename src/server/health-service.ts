import type * as grpc from '@grpc/grpc-js';
import { DhtError } from '../errors.js';
import { unary } from '../transport/grpc/grpc-server.js';

/** Services this node reports on; '' is the server as a whole (what Kubernetes probes ask for). */
const KNOWN_SERVICES = new Set(['', 'dht.v1.Dht', 'client.v1.ClientAPI']);
const WATCH_POLL_MS = 1000;

type Status = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/** grpc.health.v1.Health: SERVING exactly when the node is READY (the same rule as GET /health). */
export function healthImplementation(ready: () => boolean): grpc.UntypedServiceImplementation {
  const status = (service: string): Status => (!KNOWN_SERVICES.has(service) ? 'SERVICE_UNKNOWN' : ready() ? 'SERVING' : 'NOT_SERVING');
  return {
    Check: unary(async (req: { service: string }) => {
      const s = status(req.service);
      if (s === 'SERVICE_UNKNOWN') throw new DhtError('ERR_NOT_FOUND', `unknown service "${req.service}"`);
      return { status: s };
    }),
    Watch: (call: grpc.ServerWritableStream<{ service: string }, { status: Status }>) => {
      let last: Status | undefined;
      const send = () => {
        const s = status(call.request.service);
        if (s !== last) call.write({ status: (last = s) });
      };
      send();
      const timer = setInterval(send, WATCH_POLL_MS);
      call.on('cancelled', () => clearInterval(timer));
      call.on('close', () => clearInterval(timer));
    },
  } as grpc.UntypedServiceImplementation;
}
