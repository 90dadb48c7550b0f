import { z } from 'zod';
import type { TrafficMatch, TrafficSpec, TrafficState, Variant } from '../traffic';

/**
 * What a `traffic-webhook` integration is sent and answers. PUT <url> with the
 * weights the rollout wants; the answer (and GET <url>?routeId=…) is the same
 * shape with the weights the router has now. Backends are the environment's
 * targets (host and port from their properties); weights are percents that
 * add up to 100; `match` sends matching requests to the canary whatever its
 * weight (A/B tests, blue-green previews), null for none.
 */

export interface WebhookBackend {
  name: string;
  host: string;
  port: number;
}

export interface WebhookWeights {
  routeId: string;
  rolloutId: string | null;
  stable: { weight: number; backends: WebhookBackend[] };
  canary: { weight: number; backends: WebhookBackend[] };
  match: TrafficMatch | null;
}

export function webhookBody(rolloutId: string, spec: TrafficSpec): WebhookWeights {
  const backends = (list: TrafficSpec['stable']) => list.map((b) => ({ name: b.name, host: b.host, port: b.port }));
  return {
    routeId: spec.routeId,
    rolloutId,
    stable: { weight: 100 - spec.canaryWeight, backends: backends(spec.stable) },
    canary: { weight: spec.canaryWeight, backends: backends(spec.canary) },
    match: spec.match,
  };
}

const weight = z.number().min(0).max(100);
const side = z.looseObject({ weight, backends: z.array(z.looseObject({ name: z.string().max(200) })).max(500).optional() });
const match = z.union([z.strictObject({ header: z.strictObject({ name: z.string(), value: z.string() }) }), z.strictObject({ cookie: z.strictObject({ name: z.string(), value: z.string() }) })]);

/** The answer a receiver must give: both weights, adding up to 100; the rest is optional. */
export const webhookAnswerSchema = z
  .looseObject({ routeId: z.string().max(200).optional(), stable: side, canary: side, match: match.nullable().optional() })
  .refine((a) => a.stable.weight + a.canary.weight === 100, { message: 'stable.weight and canary.weight must add up to 100' });
export type WebhookAnswer = z.infer<typeof webhookAnswerSchema>;

/** The answer as the rollout keeps what a router read back. */
export function trafficStateOf(answer: WebhookAnswer, routeId: string, readAt: string): TrafficState {
  const servers = (variant: Variant) => (answer[variant].backends ?? []).map((b) => ({ name: b.name, variant, weight: answer[variant].weight, state: 'reported' }));
  return {
    provider: 'webhook',
    routeId: answer.routeId ?? routeId,
    canaryWeight: answer.canary.weight,
    stableWeight: answer.stable.weight,
    match: answer.match ?? null,
    servers: [...servers('stable'), ...servers('canary')],
    readAt,
  };
}
