import type { HealthCheck } from '../../domain/deployments/model';
import { runCommand } from './hook-runner';
import { pause } from '../runtime/retry';

export interface HealthCheckOutcome {
  healthy: boolean;
  /** How many checks ran (each retry counts). */
  attempts: number;
  /** The last check's answer, for the task's error message. */
  detail: string;
  /** The last check's short answer: the HTTP status ("503"), "exit 1", "timeout", a network error code; null when none ran. */
  lastStatus: string | null;
}

export interface HealthCheckOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Lines for the task log (without a trailing newline). */
  log: (line: string) => void;
  /** Output of a command check, as it arrives. */
  onOutput?: (text: string) => void;
  signal?: AbortSignal;
  /** What the last answer of a URL check says the target runs, when its JSON body names a release or version. */
  onBody?: (reported: { releaseId: string | null; version: string | null }) => void;
}

const EXCERPT = 200;
/** A command check that overruns its timeout gets this long between SIGTERM and SIGKILL. */
const COMMAND_GRACE_MS = 2_000;

/** Runs the target's check up to 1 + retries times, intervalSeconds apart, until one passes. */
export async function runHealthCheck(check: HealthCheck, options: HealthCheckOptions): Promise<HealthCheckOutcome> {
  const tries = 1 + Math.max(0, Math.floor(check.retries ?? 0));
  let detail = 'no check ran';
  let lastStatus: string | null = null;
  for (let attempt = 1; attempt <= tries; attempt++) {
    if (attempt > 1) await pause(Math.max(0, check.intervalSeconds) * 1000, options.signal);
    const results: CheckResult[] = [];
    if (check.url) results.push(await checkUrl(check.url, check.timeoutSeconds, options));
    if (check.command) results.push(await checkCommand(check.command, check.timeoutSeconds, options));
    if (options.signal?.aborted) throw options.signal.reason;
    const ok = results.every((r) => r.ok);
    detail = results.map((r) => r.detail).join('; ');
    lastStatus = results.map((r) => r.status).join('; ') || null;
    options.log(`[tollgate] health check ${attempt}/${tries}: ${detail}${ok ? '' : attempt < tries ? ` (retrying in ${check.intervalSeconds}s)` : ''}`);
    if (ok) return { healthy: true, attempts: attempt, detail, lastStatus };
  }
  return { healthy: false, attempts: tries, detail, lastStatus };
}

// Excerpts are cut by UTF-16 unit: never between the halves of a pair, which would report U+FFFD for the character.
const isHigh = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLow = (code: number) => code >= 0xdc00 && code <= 0xdfff;
const head = (text: string, n: number) => text.slice(0, isHigh(text.charCodeAt(n - 1)) ? n - 1 : n);
function last(text: string, n: number): string {
  const from = Math.max(0, text.length - n);
  return text.slice(from < text.length && isLow(text.charCodeAt(from)) ? from + 1 : from);
}

interface CheckResult {
  ok: boolean;
  detail: string;
  status: string;
}

async function checkUrl(url: string, timeoutSeconds: number, options: HealthCheckOptions): Promise<CheckResult> {
  const signal = options.signal;
  const timeoutMs = Math.max(1, timeoutSeconds) * 1000;
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout, redirect: 'follow' });
    const text = await response.text();
    const reported = releaseFields(text);
    if (reported) options.onBody?.(reported);
    const body = text.replace(/\s+/g, ' ').trim();
    const excerpt = body.length > EXCERPT ? `${head(body, EXCERPT)}…` : body;
    return { ok: response.ok, detail: `GET ${url} answered ${response.status}${excerpt ? `: ${excerpt}` : ''}`, status: String(response.status) };
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (timeout.aborted) return { ok: false, detail: `GET ${url} gave no answer within ${timeoutSeconds}s`, status: 'timeout' };
    const reason = networkReason(error);
    return { ok: false, detail: `GET ${url} failed: ${reason}`, status: reason };
  }
}

async function checkCommand(command: string, timeoutSeconds: number, options: HealthCheckOptions): Promise<CheckResult> {
  let tail = '';
  const result = await runCommand({
    command,
    cwd: options.cwd,
    env: options.env,
    signal: options.signal,
    graceMs: COMMAND_GRACE_MS,
    timeoutMs: Math.max(1, timeoutSeconds) * 1000,
    onOutput: (text) => {
      tail = last(tail + text, EXCERPT);
      options.onOutput?.(text);
    },
  });
  if (options.signal?.aborted) throw options.signal.reason;
  const output = tail.replace(/\s+/g, ' ').trim();
  const said = output ? `: ${output}` : '';
  if (result.spawnError) return { ok: false, detail: `\`${command}\` could not start: ${result.spawnError}`, status: 'not started' };
  if (result.timedOut) return { ok: false, detail: `\`${command}\` did not finish within ${timeoutSeconds}s${said}`, status: 'timeout' };
  if (result.exitCode === 0) return { ok: true, detail: `\`${command}\` exited with 0`, status: 'exit 0' };
  const how = result.exitCode !== null ? `exited with ${result.exitCode}` : `was killed by ${result.signal}`;
  return { ok: false, detail: `\`${command}\` ${how}${said}`, status: result.exitCode !== null ? `exit ${result.exitCode}` : String(result.signal) };
}

export interface TargetProbe {
  healthy: boolean;
  releaseId: string | null;
  version: string | null;
}

/** One quick GET of a target's health URL for the heartbeat: is it up, and which release does it say it runs? */
export async function probeTarget(url: string, timeoutMs: number, signal?: AbortSignal): Promise<TargetProbe> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    const reported = releaseFields(await response.text());
    return { healthy: response.ok, releaseId: reported?.releaseId ?? null, version: reported?.version ?? null };
  } catch {
    return { healthy: false, releaseId: null, version: null };
  }
}

/** `releaseId` and `version` from a JSON health answer (the demo service's shape); null when it names neither. */
function releaseFields(text: string): { releaseId: string | null; version: string | null } | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  if (!body || typeof body !== 'object') return null;
  const field = (name: string) => {
    const value = (body as Record<string, unknown>)[name];
    return typeof value === 'string' && value ? value : null;
  };
  const reported = { releaseId: field('releaseId'), version: field('version') };
  return reported.releaseId || reported.version ? reported : null;
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
