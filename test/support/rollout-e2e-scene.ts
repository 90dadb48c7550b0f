import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestApp, type TestApp } from './app';
import { testEnv } from './env';
import { until } from './eventually';
import { scene, type Scene } from './promotion-scene';
import { buildRolloutStage, CANARY_VERSION, STABLE_VERSION, type RolloutStage, type StageOptions } from './rollout-stage';
import { assertSplit, closeLoadConnections, sendLoad, type LoadOptions, type LoadResult, type SplitCheck } from './traffic-load';

/**
 * The rollout end-to-end scene: the test run's API in this process, the
 * orchestrator worker as a process of its own on the app's task queue (so a
 * test can SIGKILL it), and the stage of rollout-stage.ts (stable and canary
 * demo services, one agent driving a real router in front of them). Helpers
 * drive a rollout through the API and measure what the router serves.
 */

export { CANARY_VERSION, STABLE_VERSION };

/**
 * The weights GET /traffic says the router has: its `traffic` read back live
 * from the router (a reading the agent did not answer is not one).
 */
export function readBack(reading: any): { canaryWeight: number | null; match: unknown; live: boolean } {
  const traffic = reading?.traffic ?? reading;
  return { canaryWeight: typeof traffic?.canaryWeight === 'number' ? traffic.canaryWeight : null, match: traffic?.match ?? null, live: reading?.live !== false };
}

/** The rollout's state as the API names it (created, running, paused, completed, aborted, failed). */
export const stateOf = (rollout: any): string => rollout?.state ?? rollout?.status;

export interface RolloutScene {
  app: TestApp;
  s: Scene;
  stage: RolloutStage;
  /** POST /ab-releases with the stage's environment and releases; answers the created rollout. */
  create(extra: Record<string, unknown>): Promise<any>;
  /** A created and started rollout. */
  createAndStart(extra: Record<string, unknown>): Promise<any>;
  get(id: string): Promise<any>;
  /** Polls the rollout until `done(rollout)` holds; the last one seen is in the error. */
  until(id: string, what: string, done: (rollout: any) => boolean, timeoutMs?: number): Promise<any>;
  /** POST /ab-releases/{id}/{action}: the raw answer. */
  act(id: string, action: string, body?: Record<string, unknown>): Promise<{ status: number; body: any; text: string }>;
  traffic(id: string): Promise<any>;
  health(id: string): Promise<any>;
  /** Waits until the router reads back `percent` (GET /traffic), then until a load through it splits that way. */
  servesSplit(id: string, percent: number, load?: LoadOptions, timeoutMs?: number): Promise<SplitCheck>;
  /** One load through the router. */
  load(options?: LoadOptions): Promise<LoadResult>;
  /**
   * Steady load through the router (small bursts, back to back) until `stop()`:
   * the router's counters an analysis judges need requests to count.
   */
  steadyLoad(options?: LoadOptions): { stop(): Promise<LoadResult[]> };
  close(): Promise<void>;
}

/** Durations short enough to watch analyses and deadlines fire within a test. */
export const ROLLOUT_ENV: Record<string, string> = {
  AGENT_OFFLINE_AFTER: '3s',
  AGENT_HEARTBEAT_INTERVAL: '1s',
};

export async function rolloutScene(options: StageOptions & { env?: Record<string, string> } = {}): Promise<RolloutScene> {
  const env = { ...ROLLOUT_ENV, ...options.env };
  const root = mkdtempSync(path.join(os.tmpdir(), 'tollgate-rollout-e2e-'));
  const app = await startTestApp({ worker: false, env });
  const s = await scene(app, app.tenant);
  let stage: RolloutStage | undefined;
  const close = async () => {
    closeLoadConnections();
    await stage?.close();
    await app.close();
    if (!process.env.KEEP_ROLLOUT_SCENE) rmSync(root, { recursive: true, force: true });
  };
  try {
    stage = await buildRolloutStage(
      {
        apiUrl: app.url,
        admin: s.admin,
        registrar: await s.token('registrar@example.com', { roles: ['agent-registrar'] }),
        workerEnv: {
          ...env,
          DATABASE_URL: testEnv.databaseUrl,
          TEMPORAL_ADDRESS: testEnv.temporalAddress,
          TEMPORAL_TASK_QUEUE: app.config.TEMPORAL_TASK_QUEUE,
          DATA_DIR: testEnv.dataDir,
          WORKFLOW_BUNDLE: testEnv.workflowBundle.codePath,
          AUTH_JWKS: '{"keys":[]}',
        },
        root,
      },
      options,
    );
  } catch (err) {
    await close();
    throw err;
  }
  const st = stage;

  const get = (id: string) => st.api('GET', `/ab-releases/${id}`);
  const rolloutUntil = async (id: string, what: string, done: (r: any) => boolean, timeoutMs = 60_000) => {
    let last: any;
    try {
      return await until(`rollout ${id} ${what}`, async () => {
        last = await get(id);
        return done(last) ? last : undefined;
      }, timeoutMs, 200);
    } catch (err) {
      const said = `agent:\n${st.agent.proc.output().slice(-3000)}\nworker:\n${st.worker.proc.output().slice(-3000)}`;
      throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}\n${said}`);
    }
  };
  const traffic = (id: string) => st.api('GET', `/ab-releases/${id}/traffic`);
  const load = (o: LoadOptions = {}) => sendLoad(st.routerUrl, o);

  return {
    app,
    s,
    stage: st,
    async create(extra) {
      return st.api('POST', '/ab-releases', st.rolloutBody(extra), 201);
    },
    async createAndStart(extra) {
      const created = await st.api('POST', '/ab-releases', st.rolloutBody(extra), 201);
      expect(stateOf(created)).toBe('created');
      const started = await st.api('POST', `/ab-releases/${created.id}/start`, { reason: 'e2e start' });
      return { ...created, ...started };
    },
    get,
    until: rolloutUntil,
    act: (id, action, body = { reason: `e2e ${action}` }) => st.call('POST', `/ab-releases/${id}/${action}`, body),
    traffic,
    health: (id) => st.api('GET', `/ab-releases/${id}/health`),
    async servesSplit(id, percent, o = {}, timeoutMs = 30_000) {
      let read: any;
      try {
        await until(`the router to read back ${percent} % canary`, async () => {
          read = await traffic(id);
          const back = readBack(read);
          // A rollout that completed meanwhile (a full promote ends it at once) answers the router's last read-back, not a live one.
          return back.canaryWeight === percent && (back.live || read?.state === 'completed');
        }, timeoutMs, 100);
      } catch (err) {
        throw new Error(`${(err as Error).message}; last read back: ${JSON.stringify(read)}\nagent:\n${st.agent.proc.output().slice(-3000)}`);
      }
      let last: SplitCheck | undefined;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const result = await load({ requests: 1000, ...o });
        try {
          last = assertSplit(result, CANARY_VERSION, percent);
          return last;
        } catch (err) {
          if (Date.now() > deadline) throw err;
        }
      }
    },
    load,
    steadyLoad(o = {}) {
      const results: LoadResult[] = [];
      let stopped = false;
      const running = (async () => {
        while (!stopped) results.push(await load({ requests: 50, concurrency: 4, ...o }));
      })();
      return {
        async stop() {
          stopped = true;
          await running;
          return results;
        },
      };
    },
    close,
  };
}
