import type { IdSpace } from '../id/id-space.js';
import type { NodeRef } from '../id/node-ref.js';
import type { Clock } from '../runtime/clock.js';

export interface Route {
  /** The owner's range is (from, owner.id]. */
  readonly from: bigint;
  readonly owner: NodeRef;
  /** The owner first, then the nodes that take over if it dies. */
  readonly successors: readonly NodeRef[];
}

/** How long a learned route is trusted without a new lookup. Owners also refuse stale routes. */
const ROUTE_TTL_MS = 30_000;
const MAX_ROUTES = 4096;

/**
 * What an entry node learned from its lookups: key ranges and their owners. A repeat request
 * goes straight to the owner, which confirms the key is still its own (else the entry forgets
 * the route and looks up afresh).
 */
export class RouteCache {
  private readonly routes = new Map<string, Route & { readonly expiresAt: number }>();

  constructor(
    private readonly ids: IdSpace,
    private readonly clock: Clock,
  ) {}

  find(key: bigint): Route | undefined {
    const now = this.clock.now();
    for (const [addr, route] of this.routes) {
      if (route.expiresAt < now) this.routes.delete(addr);
      else if (this.ids.inHalfOpen(key, route.from, route.owner.id)) return route;
    }
    return undefined;
  }

  remember(route: Route): void {
    this.routes.delete(route.owner.addr);
    if (this.routes.size >= MAX_ROUTES) this.routes.delete(this.routes.keys().next().value!);
    this.routes.set(route.owner.addr, { ...route, expiresAt: this.clock.now() + ROUTE_TTL_MS });
  }

  forget(owner: NodeRef): void {
    this.routes.delete(owner.addr);
  }
}
