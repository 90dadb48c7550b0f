import { ApplicationFailure } from '@temporalio/common';
import { outboundFetch } from '../../platform/egress';

/**
 * One instant query against Prometheus's HTTP API (/api/v1/query): the value
 * of its first series, or null when the query has no data (or NaN: no traffic
 * in the window). A query Prometheus refuses fails for good; an unreachable
 * server is retried by the activity's policy.
 */
export async function queryPrometheus(address: string, query: string, timeoutMs = 5000, headers: Record<string, string> = {}): Promise<number | null> {
  const url = new URL(`${address.replace(/\/+$/, '')}/api/v1/query`);
  url.searchParams.set('query', query);
  const res = await outboundFetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  const body = (await res.json().catch(() => null)) as { status?: string; error?: string; data?: { resultType?: string; result?: unknown } } | null;
  if (!res.ok || body?.status !== 'success') {
    const message = `Prometheus at ${url.origin} answered ${res.status}: ${body?.error ?? 'not a query result'}`;
    if (res.status >= 400 && res.status < 500) throw ApplicationFailure.create({ type: 'PROMETHEUS_QUERY_REFUSED', message, nonRetryable: true });
    throw new Error(message);
  }
  const { resultType, result } = body.data ?? {};
  let raw: unknown;
  if (resultType === 'scalar') raw = (result as [number, string])[1];
  else if (resultType === 'vector') raw = (result as Array<{ value: [number, string] }>)[0]?.value[1];
  else return null;
  if (raw === undefined) return null;
  const value = Number(raw);
  return Number.isFinite(value) ? value : null;
}
