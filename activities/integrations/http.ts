import { outboundFetch } from '../../platform/egress';

/**
 * One HTTP call of an integration, bounded by its timeout, whose failure reads
 * as what went wrong on the wire (`connect ECONNREFUSED 127.0.0.1:5000`,
 * `timed out after 5000 ms`) rather than fetch's bare "fetch failed".
 */

export class CallFailed extends Error {}

export async function call(url: string, init: RequestInit & { timeoutMs: number }): Promise<Response> {
  const { timeoutMs, ...rest } = init;
  try {
    return await outboundFetch(url, { ...rest, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new CallFailed(reasonOf(err, timeoutMs, url));
  }
}

export function reasonOf(err: unknown, timeoutMs: number, url?: string): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `${url ? `${new URL(url).host}: ` : ''}timed out after ${timeoutMs} ms`;
  if (e?.cause?.message) return e.cause.message;
  return e?.message ?? String(err);
}

/** An answer's body for a reason, cut short. */
export async function bodySnippet(res: Response, max = 300): Promise<string> {
  const text = await res.text().catch(() => '');
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export function bearer(token: unknown): Record<string, string> {
  return typeof token === 'string' && token ? { authorization: `Bearer ${token}` } : {};
}
