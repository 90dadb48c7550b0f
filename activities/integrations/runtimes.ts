import type { CallOperation } from '../../domain/integrations/calls';
import type { Notification } from '../../domain/integrations/notifications';
import { bearer, bodySnippet, call, CallFailed } from './http';
import { callHttpGate } from './http-gate-call';
import { RegistryClient, type RegistryConfig } from './oci-registry';
import { readWeights, setWeights, type TrafficWebhookConfig } from './traffic-webhook';
import type { WebhookWeights } from '../../domain/rollouts/traffic-webhook';
import { deliver, type WebhookConfig } from './webhook';

/**
 * What each integration type does when called: `test` (can Tollgate reach it
 * with this config?), `discover` (what is there to choose from), `tags` (a
 * registry's tags and digests, for sync-versions), `notify` (a notifier's
 * delivery), `check` (an http gate's answer). Each answers its details or throws CallFailed with the reason.
 */

type Config = Record<string, unknown>;
/**
 * Operations no user starts through integrationCall: a rollout's traffic through a traffic-webhook (its workflow's
 * own activities) and an http gate's `check` (the gate inputs' gathering, activities/integrations/http-gate.ts).
 */
type InternalOperation = 'setWeights' | 'readWeights' | 'check';
type Operation = CallOperation | InternalOperation;
type Run = (config: Config, args: Record<string, unknown>) => Promise<Record<string, unknown>>;

const timeoutOf = (config: Config) => Number(config.timeoutMs ?? 5_000);

async function expectOk(url: string, init: RequestInit, config: Config, expect: number[] = []): Promise<Record<string, unknown>> {
  const res = await call(url, { ...init, timeoutMs: timeoutOf(config) });
  const ok = expect.length ? expect.includes(res.status) : res.ok;
  if (!ok) throw new CallFailed(`${init.method ?? 'GET'} ${url} answered ${res.status}${expect.length ? ` (expected ${expect.join(', ')})` : ''}: ${await bodySnippet(res)}`);
  await res.body?.cancel();
  return { status: res.status };
}

const registry = (config: Config) => new RegistryClient(config as unknown as RegistryConfig);

const RUNTIMES: Record<string, Partial<Record<Operation, Run>>> = {
  'oci-registry': {
    test: async (config) => registry(config).ping(),
    discover: async (config) => {
      const client = registry(config);
      const repositories = [];
      for (const name of await client.repositories()) repositories.push({ name, tags: await client.tagDigests(name) });
      return { repositories };
    },
    tags: async (config, args) => ({ repository: args.repository, tags: await registry(config).tagDigests(String(args.repository)) }),
  },
  webhook: {
    test: async (config) => ({ ...(await deliver(config as unknown as WebhookConfig, { event: 'integration.test', title: 'Tollgate test notification', text: 'This webhook is set up in Tollgate.', at: new Date().toISOString() })) }),
    notify: async (config, args) => ({ ...(await deliver(config as unknown as WebhookConfig, args.notification as Notification)) }),
    // A periodic check must not notify anyone: the receiver answering at all (below 500) is health.
    health: async (config) => {
      const res = await call(String(config.url), { method: 'HEAD', headers: config.headers as Record<string, string>, timeoutMs: timeoutOf(config) });
      await res.body?.cancel();
      if (res.status >= 500) throw new CallFailed(`HEAD ${String(config.url)} answered ${res.status}`);
      return { status: res.status };
    },
  },
  // A gate's evaluation (check), its test and its health are the one call: does the service say OK now?
  'http-gate': {
    check: async (config) => callHttpGate(config),
    test: async (config) => callHttpGate(config),
  },
  prometheus: {
    test: async (config) => {
      const res = await call(`${String(config.url).replace(/\/+$/, '')}/api/v1/query?query=vector(1)`, { headers: bearer(config.bearerToken), timeoutMs: timeoutOf(config) });
      if (!res.ok) throw new CallFailed(`the query API answered ${res.status}: ${await bodySnippet(res)}`);
      const body = (await res.json()) as { status?: string };
      if (body.status !== 'success') throw new CallFailed(`the query API answered status ${body.status ?? 'none'}`);
      return { status: res.status };
    },
    discover: async (config) => {
      const res = await call(`${String(config.url).replace(/\/+$/, '')}/api/v1/label/__name__/values`, { headers: bearer(config.bearerToken), timeoutMs: timeoutOf(config) });
      if (!res.ok) throw new CallFailed(`the label API answered ${res.status}: ${await bodySnippet(res)}`);
      const body = (await res.json()) as { data?: string[] };
      return { metrics: (body.data ?? []).slice(0, 1000) };
    },
  },
  'traffic-webhook': {
    // A test reads the weights the router has now: it checks the URL, the token and the answer's shape, and moves nothing.
    test: async (config) => ({ ...(await readWeights(config as unknown as TrafficWebhookConfig, null)) }),
    setWeights: async (config, args) => ({ ...(await setWeights(config as unknown as TrafficWebhookConfig, args.body as WebhookWeights)) }),
    readWeights: async (config, args) => ({ ...(await readWeights(config as unknown as TrafficWebhookConfig, typeof args.routeId === 'string' ? args.routeId : null)) }),
  },
};

/** The type's implementation of an operation; health is its test unless it has a check of its own. */
export function runtimeOf(typeId: string, operation: Operation): Run | undefined {
  const runtime = RUNTIMES[typeId];
  return runtime?.[operation] ?? (operation === 'health' ? runtime?.test : undefined);
}
