import { bearer, bodySnippet, call, CallFailed } from './http';

/**
 * One call of an http-gate integration: its URL with its method, headers and
 * bearer token, bounded by its timeout. It answers the status when the service
 * answered one it expects, and throws CallFailed with the reason otherwise (a
 * GateRefused carries the status the service did answer). `check` (a gate's
 * evaluation), `test` and the periodic health check all make this same call.
 */

export class GateRefused extends CallFailed {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** A gate's call must finish inside the activity that gathers the gate inputs (30 s), whatever the integration allows. */
export const GATE_CALL_MAX_MS = 20_000;

export async function callHttpGate(config: Record<string, unknown>): Promise<{ status: number; expected: number[] }> {
  const url = String(config.url);
  const method = String(config.method ?? 'GET');
  const expected = (config.expectStatus as number[] | undefined) ?? [200];
  const timeoutMs = Number(config.timeoutMs ?? 5_000);
  const res = await call(url, { method, headers: { ...(config.headers as Record<string, string> | undefined), ...bearer(config.bearerToken) }, timeoutMs });
  if (!expected.includes(res.status)) {
    // The reason quotes the answer, and is kept (a gate's inputs, a health record): a service that echoes the request must not echo the token there.
    const body = method === 'HEAD' ? '' : redact(await bodySnippet(res, 200), config.bearerToken);
    throw new GateRefused(`${method} ${url} answered ${res.status} (expected ${expected.join(' or ')})${body ? `: ${body}` : ''}`, res.status);
  }
  await res.body?.cancel();
  return { status: res.status, expected };
}

function redact(text: string, secret: unknown): string {
  return typeof secret === 'string' && secret.length > 0 ? text.split(secret).join('[redacted]') : text;
}
