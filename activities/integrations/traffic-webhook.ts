import { trafficStateOf, webhookAnswerSchema, type WebhookWeights } from '../../domain/rollouts/traffic-webhook';
import type { TrafficState } from '../../domain/traffic';
import { bearer, bodySnippet, call, CallFailed } from './http';

/**
 * A `traffic-webhook` integration's calls: PUT <url> sets the weights, GET
 * <url>?routeId=… reads them back; each bounded by the integration's
 * timeoutMs, with its bearer token. A 4xx is the receiver refusing (retrying
 * cannot help: WebhookRefused); a network error, a 5xx or an answer that is not
 * the weights is a failure a retry may get past.
 */

export interface TrafficWebhookConfig {
  url: string;
  bearerToken?: string;
  timeoutMs: number;
}

export class WebhookRefused extends CallFailed {}

async function weightsFrom(res: Response, what: string, routeId: string): Promise<TrafficState> {
  if (!res.ok) {
    const message = `${what} answered ${res.status}: ${await bodySnippet(res)}`;
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) throw new WebhookRefused(message);
    throw new CallFailed(message);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CallFailed(`${what} answered ${res.status} with no JSON: ${text.slice(0, 200)}`);
  }
  const parsed = webhookAnswerSchema.safeParse(body);
  if (!parsed.success) throw new CallFailed(`${what} answered no weights (${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')})`);
  return trafficStateOf(parsed.data, routeId, new Date().toISOString());
}

export async function setWeights(config: TrafficWebhookConfig, body: WebhookWeights): Promise<TrafficState> {
  const res = await call(config.url, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', 'user-agent': 'Tollgate-Traffic/1', ...bearer(config.bearerToken) },
    body: JSON.stringify(body),
    timeoutMs: config.timeoutMs,
  });
  return weightsFrom(res, `PUT ${new URL(config.url).origin}`, body.routeId);
}

/** The weights the router has now; without a route, whatever the receiver answers for its default one. */
export async function readWeights(config: TrafficWebhookConfig, routeId: string | null): Promise<TrafficState> {
  const url = new URL(config.url);
  if (routeId) url.searchParams.set('routeId', routeId);
  const res = await call(url.toString(), { headers: { 'user-agent': 'Tollgate-Traffic/1', ...bearer(config.bearerToken) }, timeoutMs: config.timeoutMs });
  return weightsFrom(res, `GET ${url.origin}`, routeId ?? '');
}
