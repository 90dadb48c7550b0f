import pg from 'pg';
import type { Logger } from '../../platform/logger';
import { DASHBOARD_CHANNEL, parseDashboardNotice, type DashboardNotice } from './dashboard-notice';
import { DEPLOYMENT_CHANNEL, parseDeploymentEvent, type DeploymentEvent } from './deployment-events';
import { parseWorkflowRunEvent, WORKFLOW_RUN_CHANNEL, type WorkflowRunEvent } from './workflow-run-events';

/**
 * One LISTEN connection per API process for every live stream it serves:
 * however many sockets are open, Postgres sees one client. It connects with
 * the first subscriber and stays; a lost connection is reopened with backoff,
 * and since NOTIFYs sent meanwhile are gone for good, every subscriber is then
 * told to read its state again (onResync) instead of trusting what it last saw.
 * The one connection listens on every channel a stream reads: deployments'
 * workflow runs' and the dashboard's.
 */
export interface HubSubscriber {
  tenantId: string;
  /** Every deployment event of the subscriber's tenant; the subscriber picks what concerns it. */
  onEvent?(event: DeploymentEvent): void;
  /** Every workflow-run event of the subscriber's tenant. */
  onRunEvent?(event: WorkflowRunEvent): void;
  /** Every new dashboard event of the subscriber's tenant (its id; the row is read from Postgres). */
  onDashboardEvent?(notice: DashboardNotice): void;
  /** The hub has just (re)started listening: events may have been missed before. */
  onResync(): void;
}

export interface HubOptions {
  databaseUrl: string;
  log: Logger;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long subscribe() waits for LISTEN to be in place before giving up on waiting (the subscriber then learns by onResync). */
  readyTimeoutMs?: number;
}

export class DeploymentEventHub {
  private readonly byTenant = new Map<string, Set<HubSubscriber>>();
  private client?: pg.Client;
  private generation = 0;
  private started = false;
  private listening = false;
  private closed = false;
  private failures = 0;
  private retry?: NodeJS.Timeout;
  private waiters: Array<() => void> = [];

  constructor(private readonly options: HubOptions) {}

  get isListening(): boolean {
    return this.listening;
  }

  /** The Postgres backend serving LISTEN, for diagnostics (pg_stat_activity) and for tests that cut it. */
  get backendPid(): number | undefined {
    return this.listening ? (this.client as (pg.Client & { processID?: number }) | undefined)?.processID : undefined;
  }

  get subscriberCount(): number {
    let n = 0;
    for (const set of this.byTenant.values()) n += set.size;
    return n;
  }

  /** Adds a subscriber and resolves once the hub listens (or readyTimeoutMs passed); the function returned removes it. */
  async subscribe(subscriber: HubSubscriber): Promise<() => void> {
    if (this.closed) throw new Error('the deployment event hub is closed');
    let set = this.byTenant.get(subscriber.tenantId);
    if (!set) this.byTenant.set(subscriber.tenantId, (set = new Set()));
    set.add(subscriber);
    const unsubscribe = () => {
      const current = this.byTenant.get(subscriber.tenantId);
      current?.delete(subscriber);
      if (current?.size === 0) this.byTenant.delete(subscriber.tenantId);
    };
    if (!this.started) {
      this.started = true;
      this.connect();
    }
    if (!this.listening) await this.untilListening(this.options.readyTimeoutMs ?? 5_000);
    return unsubscribe;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    this.byTenant.clear();
    this.wake();
    const client = this.client;
    this.client = undefined;
    this.listening = false;
    this.generation++;
    await client?.end().catch(() => undefined);
  }

  private untilListening(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private connect(): void {
    const generation = ++this.generation;
    const { log } = this.options;
    const client = new pg.Client({ connectionString: this.options.databaseUrl, application_name: 'tollgate-realtime', keepAlive: true, connectionTimeoutMillis: 5_000 });
    let gone = false;
    const lost = (err?: unknown) => {
      if (gone) return;
      gone = true;
      client.end().catch(() => undefined);
      if (this.closed || generation !== this.generation) return;
      this.client = undefined;
      this.listening = false;
      log.warn({ err, channel: DEPLOYMENT_CHANNEL }, 'live deployment events: the LISTEN connection was lost; reconnecting');
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (message) => {
      if (message.channel === DEPLOYMENT_CHANNEL) {
        const event = parseDeploymentEvent(message.payload);
        if (event) this.dispatch(event.tenantId, (s) => s.onEvent?.(event));
        else log.debug({ payload: message.payload }, 'live deployment events: a payload that is not an event was ignored');
      } else if (message.channel === WORKFLOW_RUN_CHANNEL) {
        const event = parseWorkflowRunEvent(message.payload);
        if (event) this.dispatch(event.tenantId, (s) => s.onRunEvent?.(event));
        else log.debug({ payload: message.payload }, 'live workflow-run events: a payload that is not an event was ignored');
      } else if (message.channel === DASHBOARD_CHANNEL) {
        const notice = parseDashboardNotice(message.payload);
        if (notice) this.dispatch(notice.tenantId, (s) => s.onDashboardEvent?.(notice));
      }
    });
    this.client = client;
    client
      .connect()
      .then(() => client.query(`LISTEN ${DEPLOYMENT_CHANNEL}; LISTEN ${WORKFLOW_RUN_CHANNEL}; LISTEN ${DASHBOARD_CHANNEL}`))
      .then(() => {
        if (gone || this.closed || generation !== this.generation) return;
        this.listening = true;
        if (this.failures > 0) log.info({ channel: DEPLOYMENT_CHANNEL, attempts: this.failures }, 'live deployment events: listening again');
        this.failures = 0;
        for (const set of [...this.byTenant.values()]) for (const s of [...set]) this.safely(() => s.onResync());
        this.wake();
      })
      .catch(lost);
  }

  private scheduleReconnect(): void {
    const initial = this.options.initialBackoffMs ?? 250;
    const max = this.options.maxBackoffMs ?? 10_000;
    const delay = Math.min(max, initial * 2 ** Math.min(this.failures, 16)) * (0.5 + Math.random() / 2);
    this.failures++;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      if (!this.closed) this.connect();
    }, delay);
    this.retry.unref();
  }

  private dispatch(tenantId: string, deliver: (s: HubSubscriber) => void): void {
    const set = this.byTenant.get(tenantId);
    if (!set) return;
    for (const s of [...set]) this.safely(() => deliver(s));
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.options.log.error({ err }, 'live deployment events: a subscriber failed');
    }
  }
}
