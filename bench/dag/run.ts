import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { TemplateSpec, WorkflowRun } from '../../domain/templates/model';
import { SEARCH_ATTRIBUTE_REGISTRATION } from '../../domain/search-attributes';
import { workflowId } from '../../domain/workflow-ids';
import { loadConfig } from '../../platform/config';
import { createPool, runMigrations } from '../../platform/db';
import { createLogger } from '../../platform/logger';
import { dataConverterOf } from '../../platform/payload-keys';
import { connectClient, ensureSearchAttributes } from '../../platform/temporal';
import { searchAttributesOf, TEMPLATE_RUN_WORKFLOW_TYPE, type TemplateRunInput } from '../../workflows/template-runs/messages';
import { startOrchestrator } from '../../worker/orchestrator';
import { runWithTeardown, startStack, type Teardown } from '../change-lifecycle/stack';
import type { BareDagInput, BareDagResult } from './bare-workflow';
import { depthOf, shape, SHAPES, type ShapeName, type ShapeNode } from './shapes';

/**
 * `npm run bench:dag -- --nodes 200 --repeats 3`
 *
 * A throwaway stack (Postgres, Temporal), the orchestrator worker in this
 * process, and a local HTTP server answering `{"ok":true}`. Each shape (a
 * chain, a wide fan-out, a diamond mesh) of N no-op nodes — every node an
 * `http` step GETting that server, the cheapest step that still does real
 * work through the real step code — runs as a `templateRun` workflow (the
 * engine: references, conditions, run state, read-model writes, search
 * attributes, continue-as-new) and as a bare workflow (bench/dag/bare-workflow.ts:
 * the same `runTemplateStep` activity on the same worker, each node started
 * when its dependencies are done, nothing else). Runs alternate engine and
 * bare; each figure is the median of `repeats`, measured from the client's
 * start to its result. The overhead per node is (engine − bare) / N, the
 * ratio engine / bare; the last line of stdout is JSON whose
 * `perNodeOverheadRatio` is the worst shape's ratio (goal ≤ 1.5).
 * Progress goes to stderr; the table and the JSON line to stdout.
 */
const say = (msg: string) => console.error(`[dag] ${msg}`);

function options() {
  const { values } = parseArgs({ options: { nodes: { type: 'string' }, repeats: { type: 'string' } } });
  const int = (name: string, raw: string | undefined, fallback: number, min: number, max: number) => {
    const value = Number(raw ?? fallback);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    return value;
  };
  return { nodes: int('nodes', values.nodes, 200, 3, 1000), repeats: int('repeats', values.repeats, 3, 1, 20) };
}

/** A server whose every answer is the same small JSON; it counts the calls so each run can be checked to have made them all. */
async function startNoopServer(): Promise<{ url: string; calls: () => number; server: Server }> {
  let calls = 0;
  const server = createServer((req, res) => {
    calls += 1;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/noop`, calls: () => calls, server };
}

const kb = (bytes: number) => `${Math.round(bytes / 1024)} KiB`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface ShapeResult {
  shape: ShapeName;
  nodes: number;
  depth: number;
  engineMs: number;
  bareMs: number;
  enginePerNodeMs: number;
  barePerNodeMs: number;
  overheadPerNodeMs: number;
  ratio: number;
  engineRuns: number;
  engineHistoryEvents: number;
  engineHistoryBytes: number;
  bareHistoryEvents: number;
  /** The engine's history events per node by type (the median run), against the bare run's. */
  engineEventsPerNode: Record<string, number>;
  bareEventsPerNode: Record<string, number>;
}

interface HistoryFigures {
  runs: number;
  events: number;
  bytes: number;
  byType: Record<string, number>;
}

async function main(teardown: Teardown): Promise<void> {
  const o = options();
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const stack = await startStack(teardown, say);
  const config = loadConfig({
    DATABASE_URL: stack.databaseUrl,
    TEMPORAL_ADDRESS: stack.temporalAddress,
    TEMPORAL_TASK_QUEUE: `bench-dag-${randomUUID().slice(0, 8)}`,
    DATA_DIR: stack.root,
    LOG_LEVEL: 'silent',
  });
  const log = createLogger('bench', config.LOG_LEVEL);
  const dataConverter = dataConverterOf(config);
  const client = await connectClient({ address: stack.temporalAddress, namespace: config.TEMPORAL_NAMESPACE, dataConverter });
  teardown.add('Temporal client', () => client.connection.close());
  say('migrating, registering search attributes…');
  await runMigrations(config.DATABASE_URL, log);
  await ensureSearchAttributes(client, config.TEMPORAL_NAMESPACE, SEARCH_ATTRIBUTE_REGISTRATION);

  const pool = createPool(config.DATABASE_URL, 2);
  teardown.add('Postgres pool', () => pool.end());
  const noop = await startNoopServer();
  teardown.add('no-op HTTP server', () => new Promise<void>((resolve) => noop.server.close(() => resolve())));
  say('starting the orchestrator worker (bundling the workflows)…');
  const orchestrator = await startOrchestrator({ config, log });
  teardown.add('orchestrator worker', () => orchestrator.shutdown());
  const bareQueue = `${config.TEMPORAL_TASK_QUEUE}-bare`;
  const bareConnection = await NativeConnection.connect({ address: stack.temporalAddress });
  const bareWorker = await Worker.create({ connection: bareConnection, namespace: config.TEMPORAL_NAMESPACE, taskQueue: bareQueue, workflowsPath: require.resolve('./bare-workflow'), dataConverter });
  const bareDone = bareWorker.run();
  teardown.add('bare workflow worker', async () => {
    if (bareWorker.getState() === 'RUNNING') bareWorker.shutdown();
    await bareDone;
    await bareConnection.close();
  });

  const tenant = `bench-${randomUUID().slice(0, 8)}`;
  const requestedBy = { userId: 'bench@example.com', email: 'bench@example.com' };
  const inputs = { url: noop.url };

  /** The engine's run: one templateRun workflow, started as the API starts one. */
  /** Every run of a workflow id (one more per continue-as-new): how many, their events and bytes, events by type. */
  async function historyOf(id: string): Promise<HistoryFigures> {
    const figures: HistoryFigures = { runs: 0, events: 0, bytes: 0, byType: {} };
    for await (const w of client.workflow.list({ query: `WorkflowId = '${id}'` })) {
      figures.runs += 1;
      figures.events += w.historyLength;
      figures.bytes += w.historySize ?? 0;
      const history = await client.workflow.getHandle(id, w.runId).fetchHistory();
      for (const e of history.events ?? []) {
        const type = temporal.api.enums.v1.EventType[e.eventType ?? 0].replace(/^EVENT_TYPE_/, '');
        figures.byType[type] = (figures.byType[type] ?? 0) + 1;
      }
    }
    return figures;
  }

  async function engineRun(name: ShapeName, nodes: ShapeNode[]): Promise<{ ms: number } & HistoryFigures> {
    const runId = randomUUID();
    const templateName = `bench-dag-${name}`;
    const spec: TemplateSpec = { name: templateName, nodes: nodes.map((n) => ({ id: n.id, type: 'http', inputs, dependsOn: n.dependsOn })) };
    const input: TemplateRunInput = {
      tenantId: tenant,
      runId,
      templateId: randomUUID(),
      templateVersion: 1,
      spec,
      parameters: {},
      requestedBy: requestedBy.userId,
      requestedByEmail: requestedBy.email,
      createdAt: new Date().toISOString(),
    };
    const id = workflowId(tenant, 'template-run', runId);
    const before = noop.calls();
    const t0 = performance.now();
    const result = (await client.workflow.execute(TEMPLATE_RUN_WORKFLOW_TYPE, {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowId: id,
      args: [input],
      typedSearchAttributes: searchAttributesOf(tenant, { id: runId, status: 'running', templateName }),
      staticSummary: `${templateName} v1`,
    })) as { status: string };
    const ms = performance.now() - t0;
    if (result.status !== 'succeeded') {
      // What the run's row says went wrong: each failed node and its error.
      const { rows } = await pool.query<{ body: WorkflowRun }>('SELECT body FROM workflow_runs WHERE tenant_id = $1 AND id = $2', [tenant, runId]);
      const failed = (rows[0]?.body.nodes ?? []).filter((n) => n.status === 'failed').map((n) => `${n.nodeId}: ${n.error?.code} ${n.error?.message}`);
      throw new Error(`engine run ${runId} (${name}) ended ${result.status}: ${failed.slice(0, 5).join('; ') || 'no failed node recorded'}`);
    }
    if (noop.calls() - before !== nodes.length) throw new Error(`engine run ${runId} (${name}) made ${noop.calls() - before} calls, expected ${nodes.length}`);
    return { ms, ...(await historyOf(id)) };
  }

  /** The floor: the same activity per node in the same shape, no engine. */
  async function bareRun(nodes: ShapeNode[]): Promise<{ ms: number } & HistoryFigures> {
    const input: BareDagInput = {
      nodes,
      step: { tenantId: tenant, runId: randomUUID(), type: 'http', inputs, attempt: 1, requestedBy },
      activityQueue: config.TEMPORAL_TASK_QUEUE,
    };
    const before = noop.calls();
    const t0 = performance.now();
    const id = `bench-dag-bare-${randomUUID()}`;
    const result = (await client.workflow.execute('bareDag', { taskQueue: bareQueue, workflowId: id, args: [input] })) as BareDagResult;
    const ms = performance.now() - t0;
    if (result.nodes !== nodes.length || noop.calls() - before !== nodes.length) throw new Error(`bare run made ${noop.calls() - before} calls, expected ${nodes.length}`);
    return { ms, ...(await historyOf(id)) };
  }

  say('warming up (a small diamond mesh each way)…');
  const warm = shape('diamond-mesh', 30);
  await engineRun('diamond-mesh', warm);
  await bareRun(warm);

  const results: ShapeResult[] = [];
  for (const name of SHAPES) {
    const nodes = shape(name, o.nodes);
    const engine: Array<{ ms: number } & HistoryFigures> = [];
    const bare: Array<{ ms: number } & HistoryFigures> = [];
    for (let i = 0; i < o.repeats; i++) {
      engine.push(await engineRun(name, nodes));
      bare.push(await bareRun(nodes));
      say(`${name} #${i + 1}: engine ${Math.round(engine[i].ms)} ms (${engine[i].runs} run(s), ${engine[i].events} events, ${kb(engine[i].bytes)}), bare ${Math.round(bare[i].ms)} ms (${bare[i].events} events, ${kb(bare[i].bytes)})`);
    }
    const engineMs = median(engine.map((e) => e.ms));
    const bareMs = median(bare.map((b) => b.ms));
    const typical = engine.find((e) => e.ms === engineMs)!;
    const typicalBare = bare.find((b) => b.ms === bareMs)!;
    const perNode = (byType: Record<string, number>) =>
      Object.fromEntries(Object.entries(byType).sort(([, a], [, b]) => b - a).map(([type, n]) => [type, Number((n / nodes.length).toFixed(2))]));
    results.push({
      shape: name,
      nodes: nodes.length,
      depth: depthOf(nodes),
      engineMs,
      bareMs,
      enginePerNodeMs: engineMs / nodes.length,
      barePerNodeMs: bareMs / nodes.length,
      overheadPerNodeMs: (engineMs - bareMs) / nodes.length,
      ratio: engineMs / bareMs,
      engineRuns: typical.runs,
      engineHistoryEvents: typical.events,
      engineHistoryBytes: typical.bytes,
      bareHistoryEvents: typicalBare.events,
      engineEventsPerNode: perNode(typical.byType),
      bareEventsPerNode: perNode(typicalBare.byType),
    });
  }

  const f = (n: number, d = 1) => n.toFixed(d);
  console.log(`dag bench: ${o.nodes} no-op http nodes per shape, median of ${o.repeats}, templateRun against a bare workflow running the same activity`);
  console.log('shape          depth  engine ms  bare ms  engine/node  bare/node  overhead/node  ratio  engine runs/events/history  bare events');
  for (const r of results) {
    console.log(
      `${r.shape.padEnd(14)} ${String(r.depth).padStart(5)}  ${f(r.engineMs, 0).padStart(9)}  ${f(r.bareMs, 0).padStart(7)}  ${f(r.enginePerNodeMs, 2).padStart(11)}  ${f(r.barePerNodeMs, 2).padStart(9)}  ${f(r.overheadPerNodeMs, 2).padStart(13)}  ${f(r.ratio, 2).padStart(5)}  ${r.engineRuns}/${r.engineHistoryEvents}/${kb(r.engineHistoryBytes)}  ${r.bareHistoryEvents}`,
    );
  }
  for (const r of results) {
    const show = (perNode: Record<string, number>) => Object.entries(perNode).map(([type, n]) => `${type} ${n}`).join(', ');
    console.log(`${r.shape} history events per node: engine ${show(r.engineEventsPerNode)}; bare ${show(r.bareEventsPerNode)}`);
  }
  const worst = Math.max(...results.map((r) => r.ratio));
  console.log(JSON.stringify({ perNodeOverheadRatio: Number(worst.toFixed(3)), goal: 1.5, nodes: o.nodes, repeats: o.repeats, shapes: results }));
}

runWithTeardown(say, main);
