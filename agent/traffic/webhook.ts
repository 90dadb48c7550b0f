import type { AgentRouter, RouterStats, TrafficSpec, TrafficState } from '../../domain/traffic';
import { routerStatsSchema, trafficStateSchema } from '../../domain/deployments/deliveries';
import { type TrafficProvider } from './provider';

/**
 * A router Tollgate does not drive itself (a cloud load balancer, a service mesh): the agent POSTs the TrafficSpec
 * as JSON to the configured URL, and reads the router's state back with GET on the same URL (`?routeId=`),
 * which answers a TrafficState; GET `<url>/stats?routeId=` answers RouterStats. Whatever is behind the URL owns the
 * router; the agent only relays and checks the answers' shapes.
 */
export interface WebhookOptions {
  url: string;
  listen: string;
  timeoutMs?: number;
}

export class WebhookProvider implements TrafficProvider {
  readonly router: AgentRouter;

  constructor(private readonly options: WebhookOptions) {
    this.router = { provider: 'webhook', listen: options.listen };
  }

  async apply(spec: TrafficSpec): Promise<TrafficState> {
    await this.call('POST', this.options.url, spec);
    return this.read(spec.routeId);
  }

  async read(routeId: string): Promise<TrafficState> {
    const answer = await this.call('GET', withRoute(this.options.url, routeId));
    return parsed(trafficStateSchema.safeParse(answer), 'TrafficState', this.options.url);
  }

  async stats(routeId: string): Promise<RouterStats> {
    const url = new URL(this.options.url);
    url.pathname = `${url.pathname.replace(/\/$/, '')}/stats`;
    const answer = await this.call('GET', withRoute(url.toString(), routeId));
    return parsed(routerStatsSchema.safeParse(answer), 'RouterStats', url.toString());
  }

  async close(): Promise<void> {}

  private async call(method: 'GET' | 'POST', url: string, body?: unknown): Promise<unknown> {
    const response = await fetch(url, {
      method,
      headers: { Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`the traffic webhook answered ${method} ${url} with ${response.status}: ${text.slice(0, 500)}`);
    if (!text.trim()) return null;
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`the traffic webhook answered ${method} ${url} with something that is not JSON: ${text.slice(0, 200)}`);
    }
  }
}

function withRoute(base: string, routeId: string): string {
  const url = new URL(base);
  url.searchParams.set('routeId', routeId);
  return url.toString();
}

function parsed<T>(result: { success: true; data: T } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } }, what: string, url: string): T {
  if (result.success) return result.data;
  const why = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
  throw new Error(`the traffic webhook at ${url} did not answer a ${what}: ${why.slice(0, 1_000)}`);
}
