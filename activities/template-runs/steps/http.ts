import type { z } from 'zod';
import { STEP_TYPE_DEFINITIONS } from '../../../domain/templates/step-types';
import { stepFailure, type StepExecutor } from './executor';
import { outboundFetch } from '../../../platform/egress';

type HttpInputs = z.output<(typeof STEP_TYPE_DEFINITIONS)['http']['input']> & {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  expectStatus?: number[];
  checks?: Array<{ path: string; equals?: unknown; exists?: boolean }>;
};

/** Longest body kept as the step's output and shown in its log. */
const BODY_LOG_CHARS = 2000;

/**
 * Calls the URL once (the engine owns retries and the per-try timeout, which
 * aborts the call through the context's signal); fails unless the status is
 * one expected (any 2xx when none is given) and every JSON path check holds.
 */
export const httpStep: StepExecutor<HttpInputs> = async (inputs, { signal, log }) => {
  const headers: Record<string, string> = { ...(inputs.headers ?? {}) };
  let body: string | undefined;
  if (inputs.body !== undefined && inputs.method !== 'GET' && inputs.method !== 'HEAD') {
    body = typeof inputs.body === 'string' ? inputs.body : JSON.stringify(inputs.body);
    if (typeof inputs.body !== 'string' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  }
  await log(`${inputs.method} ${inputs.url}`);
  const started = Date.now();
  let response: Response;
  try {
    response = await outboundFetch(inputs.url, { method: inputs.method, headers, body, signal, redirect: 'manual' });
  } catch (err) {
    if (signal.aborted) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const denied = cause?.code === 'EGRESS_DENIED';
    const message = `${inputs.method} ${inputs.url} failed: ${denied ? cause.message : (cause?.code ?? cause?.message ?? (err as Error).message)}`;
    await log(message, 'stderr');
    throw stepFailure(denied ? 'EGRESS_DENIED' : 'HTTP_REQUEST_FAILED', message);
  }
  const text = await response.text();
  const parsed = parseBody(text, response.headers.get('content-type'));
  await log(`${response.status} ${response.statusText} in ${Date.now() - started} ms${text ? `: ${text.slice(0, BODY_LOG_CHARS)}` : ''}`);
  const expected = inputs.expectStatus;
  if (expected ? !expected.includes(response.status) : response.status < 200 || response.status > 299) {
    const message = `${inputs.method} ${inputs.url} answered ${response.status}, expected ${expected ? expected.join(' or ') : 'a 2xx status'}`;
    await log(message, 'stderr');
    throw stepFailure('HTTP_STATUS_UNEXPECTED', message, { status: response.status });
  }
  for (const check of inputs.checks ?? []) {
    const found = readPath(parsed, check.path);
    const problem =
      check.exists !== undefined && found.exists !== check.exists
        ? `${check.path} ${check.exists ? 'is missing' : 'exists'}`
        : check.equals !== undefined && (!found.exists || JSON.stringify(found.value) !== JSON.stringify(check.equals))
          ? `${check.path} is ${found.exists ? JSON.stringify(found.value) : 'missing'}, expected ${JSON.stringify(check.equals)}`
          : check.exists === undefined && check.equals === undefined && !found.exists
            ? `${check.path} is missing`
            : null;
    if (problem) {
      await log(`check failed: ${problem}`, 'stderr');
      throw stepFailure('HTTP_CHECK_FAILED', `${inputs.method} ${inputs.url}: ${problem}`, { path: check.path });
    }
    await log(`check passed: ${check.path}`);
  }
  return { status: response.status, body: parsed };
};

function parseBody(text: string, contentType: string | null): unknown {
  if (!text) return null;
  if (contentType?.includes('json') || /^\s*[[{]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** `$.a.b[0].c`, `a.b.0.c` or `a["b"]`: a path into the JSON body. */
export function readPath(value: unknown, path: string): { exists: boolean; value?: unknown } {
  const parts = path
    .replace(/^\$\.?/, '')
    .replace(/\[(\d+)\]/g, '.$1')
    .replace(/\[["']([^"']*)["']\]/g, '.$1')
    .split('.')
    .filter((p) => p.length > 0);
  let current: unknown = value;
  for (const part of parts) {
    if (current === null || typeof current !== 'object' || !Object.prototype.hasOwnProperty.call(current, part)) return { exists: false };
    current = (current as Record<string, unknown>)[part];
  }
  return { exists: true, value: current };
}
