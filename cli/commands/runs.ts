import WebSocket from 'ws';
import type { ApiClient } from '../client';
import { durationMs, sleep, type Command, type Context } from '../command';
import { ApiFailure, Outcome, UsageError } from '../errors';
import { printJson, table, when, fields } from '../output';

interface RunNode {
  nodeId: string;
  type: string;
  phase: string;
  status: string;
  attempts: number;
  startedAt: string | null;
  endedAt: string | null;
  error: { code: string; message: string } | null;
  reason: string | null;
}
interface Run {
  id: string;
  templateId: string;
  templateName: string;
  templateVersion: number;
  parameters: Record<string, unknown>;
  status: string;
  nodes: RunNode[];
  requestedBy: string;
  createdAt: string;
  updatedAt: string;
  endedAt: string | null;
  statusReason?: string;
}
interface LogLine {
  seq: number;
  itemIndex: number | null;
  stream: string;
  line: string;
  at: string;
}
type StreamMessage = { type: 'snapshot'; run: Run } | { type: 'run'; run: Run; changed?: string[] } | { type: 'log'; nodeId: string; lines: LogLine[] };

const FINISHED = ['succeeded', 'failed', 'cancelled'];

function showRun(ctx: Context, run: Run): void {
  if (ctx.out.json) return printJson(ctx.out, run);
  ctx.out.write(
    fields([
      ['id', run.id],
      ['template', `${run.templateName} (v${run.templateVersion})`],
      ['status', run.statusReason ? `${run.status} (${run.statusReason})` : run.status],
      ['parameters', JSON.stringify(run.parameters)],
      ['requested', `${when(run.createdAt)} by ${run.requestedBy}`],
      ['ended', when(run.endedAt)],
    ]) +
      `\n${table(
        ['NODE', 'TYPE', 'PHASE', 'STATUS', 'ATTEMPTS', 'STARTED', 'ENDED', 'NOTE'],
        run.nodes.map((n) => [n.nodeId, n.type, n.phase, n.status, n.attempts, when(n.startedAt), when(n.endedAt), n.error ? `${n.error.code}: ${n.error.message}` : n.reason]),
      )}`,
  );
}

/** `-p key=value`, typed by the template's declarations (a number parameter gets a number, an object parameter JSON). */
async function parametersOf(ctx: Context, client: ApiClient, templateId: string): Promise<Record<string, unknown>> {
  const pairs = (ctx.values.param as string[] | undefined) ?? [];
  if (pairs.length === 0) return {};
  const template = await client.get<{ spec: { parameters?: Array<{ name: string; type: string }> } }>(`/workflow-templates/${encodeURIComponent(templateId)}`);
  const types = new Map((template.spec.parameters ?? []).map((p) => [p.name, p.type]));
  const parameters: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`-p ${pair}: write key=value`, ctx.usage);
    const [key, raw] = [pair.slice(0, eq), pair.slice(eq + 1)];
    // An undeclared key goes as a string: the API names it unknown_parameter.
    const type = types.get(key) ?? 'string';
    if (type === 'string') parameters[key] = raw;
    else {
      try {
        parameters[key] = JSON.parse(raw);
      } catch {
        throw new UsageError(`-p ${key}: the template declares it ${type}; ${raw} is not one (JSON: 3, true, ["a"], {"k":1})`, ctx.usage);
      }
    }
  }
  return parameters;
}

export const runCommands: Command[] = [
  {
    words: ['runs', 'start'],
    synopsis: '<templateId> [-p key=value …] [--version N] [--watch [--timeout 30m]]',
    summary: 'Runs a workflow template (its current version unless --version); --watch follows it as runs watch does.',
    positionals: [1, 1],
    options: { param: { type: 'string', short: 'p', multiple: true }, version: { type: 'string' }, watch: { type: 'boolean' }, timeout: { type: 'string' } },
    async run(ctx) {
      if (ctx.values.timeout !== undefined && !ctx.values.watch) throw new UsageError('--timeout goes with --watch', ctx.usage);
      const client = ctx.client();
      const templateId = ctx.positionals[0];
      const version = ctx.values.version === undefined ? undefined : Number(ctx.values.version);
      if (version !== undefined && !(Number.isInteger(version) && version > 0)) throw new UsageError('--version must be a positive integer', ctx.usage);
      const run = await client.post<Run>('/workflow-runs', { templateId, parameters: await parametersOf(ctx, client, templateId), ...(version ? { version } : {}) });
      if (!ctx.values.watch) return showRun(ctx, run);
      if (!ctx.out.json) ctx.out.write(`run ${run.id} started\n`);
      return watch(ctx, client, run.id);
    },
  },
  {
    words: ['runs', 'get'],
    synopsis: '<id>',
    summary: 'A run with each node’s status.',
    positionals: [1, 1],
    async run(ctx) {
      showRun(ctx, await ctx.client().get<Run>(`/workflow-runs/${encodeURIComponent(ctx.positionals[0])}`));
    },
  },
  {
    words: ['runs', 'watch'],
    synopsis: '<id> [--timeout 30m]',
    summary: 'Follows a run live (node changes and log lines) until it finishes; exits 0 if it succeeded, 1 otherwise. --json: one message per line.',
    positionals: [1, 1],
    options: { timeout: { type: 'string' } },
    async run(ctx) {
      return watch(ctx, ctx.client(), ctx.positionals[0]);
    },
  },
];

/**
 * Follows WS /workflow-runs/{id}/stream until the server closes it with 1000
 * (the run finished). A socket lost otherwise (the server restarting, 4008
 * when we read too slowly) is opened again: its snapshot and log lines repeat,
 * and what was printed already is skipped.
 */
async function watch(ctx: Context, client: ApiClient, id: string): Promise<number> {
  // No --timeout: as long as the run takes (a run can wait days for an approval).
  const deadline = ctx.values.timeout === undefined ? Infinity : Date.now() + durationMs(ctx, 'timeout', '0s');
  // Refusals (401, 403, 404) come back as the API's envelope before any socket is opened.
  await client.get<Run>(`/workflow-runs/${encodeURIComponent(id)}`);
  const statuses = new Map<string, string>();
  const seen = new Map<string, number>();
  let run: Run | undefined;
  const print = (msg: StreamMessage) => {
    if (msg.type === 'log') {
      const fresh = msg.lines.filter((l) => {
        const key = `${msg.nodeId}\u0000${l.itemIndex ?? -1}`;
        if (l.seq <= (seen.get(key) ?? -1)) return false;
        seen.set(key, l.seq);
        return true;
      });
      if (!fresh.length) return;
      if (ctx.out.json) return printJson1(ctx, { ...msg, lines: fresh });
      for (const l of fresh) ctx.out.write(`${msg.nodeId}${l.itemIndex === null ? '' : `[${l.itemIndex}]`}${l.stream === 'stderr' ? ' !' : ' |'} ${l.line}\n`);
      return;
    }
    const first = run === undefined;
    // A finished run is said once, after the stream closes.
    if (!first && msg.run.status !== run!.status && !FINISHED.includes(msg.run.status) && !ctx.out.json) ctx.out.write(`${when(msg.run.updatedAt)} run ${msg.run.status}\n`);
    run = msg.run;
    if (ctx.out.json) return printJson1(ctx, msg);
    if (first) ctx.out.write(`run ${run.id} of ${run.templateName} (v${run.templateVersion}): ${run.status}\n`);
    for (const n of run.nodes) {
      if (statuses.get(n.nodeId) === n.status) continue;
      if (!(first && n.status === 'pending')) ctx.out.write(`${when(n.endedAt ?? n.startedAt ?? run.updatedAt)} ${n.nodeId} ${n.status}${n.error ? ` (${n.error.code}: ${n.error.message})` : n.reason && n.status !== 'succeeded' ? ` (${n.reason})` : ''}\n`);
      statuses.set(n.nodeId, n.status);
    }
  };
  let unopened = 0;
  for (;;) {
    const { code, opened } = await stream(ctx, client, id, print, deadline);
    unopened = opened ? 0 : unopened + 1;
    if (unopened >= 30) throw new ApiFailure(0, 'UNREACHABLE', `the run's stream at ${client.url(`/workflow-runs/${id}/stream`)} did not open in 30 tries (last close code ${code})`);
    if (code === 1000) {
      const final = await client.get<Run>(`/workflow-runs/${encodeURIComponent(id)}`);
      if (FINISHED.includes(final.status)) {
        if (!ctx.out.json) ctx.out.write(`run ${final.id} ${final.status}${final.statusReason ? ` (${final.statusReason})` : ''}\n`);
        if (final.status === 'succeeded') return 0;
        throw new Outcome('RUN_' + final.status.toUpperCase(), `run ${final.id} ${final.status}${final.statusReason ? `: ${final.statusReason}` : ''}`);
      }
    }
    if (Date.now() >= deadline) throw new Outcome('WATCH_TIMEOUT', `run ${id} is still ${run?.status ?? 'unfinished'} after ${ctx.values.timeout}`);
    await sleep(1000);
  }
}

function printJson1(ctx: Context, value: unknown): void {
  ctx.out.write(`${JSON.stringify(value)}\n`);
}

/** One socket's life: resolves with its close code and whether it opened at all. */
function stream(ctx: Context, client: ApiClient, id: string, onMessage: (msg: StreamMessage) => void, deadline: number): Promise<{ code: number; opened: boolean }> {
  const url = new URL(client.url(`/workflow-runs/${encodeURIComponent(id)}/stream`));
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('access_token', ctx.connection.token!);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let opened = false;
    let refused = false;
    ws.on('open', () => (opened = true));
    const timer = Number.isFinite(deadline) ? setTimeout(() => ws.terminate(), Math.max(0, deadline - Date.now())) : undefined;
    ws.on('message', (data) => {
      try {
        onMessage(JSON.parse(String(data)) as StreamMessage);
      } catch (err) {
        ws.terminate();
        reject(err);
      }
    });
    ws.on('unexpected-response', (req, res) => {
      refused = true;
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => {
        let error: { code?: string; message?: string } | undefined;
        try {
          error = (JSON.parse(body) as { error?: typeof error }).error;
        } catch {
          error = undefined;
        }
        const status = res.statusCode ?? 0;
        req.destroy();
        // An API restarting (5xx) or limiting (429) is asked again like a lost socket; other refusals are final.
        if (status >= 500 || status === 429) resolve({ code: status, opened: false });
        else reject(new ApiFailure(status, error?.code ?? `HTTP_${status}`, error?.message ?? body.slice(0, 500)));
      });
    });
    ws.on('error', () => undefined);
    ws.on('close', (code) => {
      clearTimeout(timer);
      if (!refused) resolve({ code, opened });
    });
  });
}
