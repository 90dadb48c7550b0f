import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor, type ConnectionOptions } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import type { SearchAttributeKind } from '../domain/search-attributes';
import type { Logger } from './logger';
import { connectionOptions, type TemporalConnectionSettings } from './temporal-connection';

export interface TemporalSettings extends TemporalConnectionSettings {
  namespace: string;
  /** Every Tollgate client encrypts payloads (platform/payload-keys.ts dataConverterOf); probes and admin calls need none. */
  dataConverter?: DataConverter;
}

// gRPC status code (grpc/status.proto).
const UNAVAILABLE = 14;

// grpc-js backs off reconnecting up to 120 s by default; after an outage the API must find the server within seconds.
const CHANNEL_ARGS = { 'grpc.initial_reconnect_backoff_ms': 250, 'grpc.max_reconnect_backoff_ms': 2_000 };

export async function connectClient(settings: TemporalSettings, interceptors?: ConnectionOptions['interceptors']): Promise<Client> {
  const connection = await Connection.connect({ ...connectionOptions(settings), connectTimeout: '5s', channelArgs: CHANNEL_ARGS, ...(interceptors ? { interceptors } : {}) });
  return new Client({ connection, namespace: settings.namespace, ...(settings.dataConverter ? { dataConverter: settings.dataConverter } : {}) });
}

/** The cluster could not be reached at all (as opposed to a call failing on a live connection). */
export class TemporalUnavailableError extends Error {
  constructor(address: string, cause: unknown) {
    super(`Temporal at ${address} is unreachable: ${(cause as Error)?.message ?? cause}`, { cause });
    this.name = 'TemporalUnavailableError';
  }
}

export interface GatewayOptions {
  /** How often a known-down cluster is probed again in the background. */
  recheckMs?: number;
  log?: Logger;
}

export interface TaskQueuePoller {
  identity: string;
  /** When the poller last asked for a task (epoch ms). */
  lastAccessAt?: number;
}

/**
 * The API must start (and report 503 on /health) while Temporal is down, and
 * recover without a restart when it comes back: connect lazily, retry on demand.
 *
 * Once a probe has shown the cluster unreachable, commands are refused at once
 * (TemporalUnavailableError, a 503) instead of each sitting through the SDK's
 * ~20 s of gRPC retries; a background probe clears the state when it answers.
 * A single UNAVAILABLE on a live connection only triggers that probe, so a
 * blip is still retried as before.
 */
export class TemporalGateway {
  private pending?: Promise<Client>;
  private probing?: Promise<Connection>;
  private down?: { since: number; cause: unknown };
  private verifying?: Promise<void>;
  private recheck?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly settings: TemporalSettings,
    private readonly options: GatewayOptions = {},
  ) {}

  client(): Promise<Client> {
    if (this.down) return Promise.reject(new TemporalUnavailableError(this.settings.address, this.down.cause));
    if (!this.pending) {
      this.pending = connectClient(this.settings, [this.retryInterceptor()]).catch((err) => {
        this.pending = undefined;
        this.markDown(err);
        throw new TemporalUnavailableError(this.settings.address, err);
      });
    }
    return this.pending;
  }

  /** When the current outage began (epoch ms), or undefined while the cluster is believed reachable. */
  get unavailableSince(): number | undefined {
    return this.down?.since;
  }

  /**
   * A second connection without the SDK's retry interceptor, for probes: a
   * probe must report what is true now, and must not leave retries pending
   * after it has answered.
   */
  probe(): Promise<Connection> {
    if (!this.probing) {
      this.probing = Connection.connect({ ...connectionOptions(this.settings), connectTimeout: '2s', interceptors: [], channelArgs: CHANNEL_ARGS }).catch((err) => {
        this.probing = undefined;
        throw new TemporalUnavailableError(this.settings.address, err);
      });
    }
    return this.probing;
  }

  /** Resolves when the namespace answers within `timeoutMs`; either way the outage state follows the answer. */
  async check(timeoutMs = 2_000): Promise<void> {
    try {
      const connection = await this.probe();
      await connection.withDeadline(Date.now() + timeoutMs, () => connection.workflowService.describeNamespace({ namespace: this.settings.namespace }));
    } catch (err) {
      // Any other answer (a missing namespace, say) still proves the cluster reachable.
      if (isConnectivityFailure(err)) this.markDown(err);
      else this.markUp();
      throw err;
    }
    this.markUp();
  }

  /** The pollers Temporal has seen on a workflow task queue (who is, or recently was, running a worker for it). */
  async pollers(taskQueue: string, timeoutMs = 2_000): Promise<TaskQueuePoller[]> {
    const connection = await this.probe();
    const described = await connection.withDeadline(Date.now() + timeoutMs, () =>
      connection.workflowService.describeTaskQueue({
        namespace: this.settings.namespace,
        taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      }),
    );
    return (described.pollers ?? []).map((p) => ({ identity: p.identity ?? '', lastAccessAt: optionalTsToMs(p.lastAccessTime) }));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.recheck);
    const [pending, probing] = [this.pending, this.probing];
    this.pending = this.probing = undefined;
    if (pending) await pending.then((c) => c.connection.close()).catch(() => undefined);
    if (probing) await probing.then((c) => c.close()).catch(() => undefined);
  }

  /** The SDK's default gRPC retries, except that a call stops retrying as soon as a probe has found the cluster down. */
  private retryInterceptor() {
    const defaults = defaultGrpcRetryOptions();
    return makeGrpcRetryInterceptor({
      delayFunction: defaults.delayFunction,
      retryableDecider: (attempt, status) => {
        if (status.code === UNAVAILABLE) this.verify();
        return !this.down && defaults.retryableDecider(attempt, status);
      },
    });
  }

  private verify(): void {
    if (this.verifying || this.closed) return;
    this.verifying = this.check()
      .catch(() => undefined)
      .finally(() => (this.verifying = undefined));
  }

  private markDown(cause: unknown): void {
    if (this.closed) return;
    if (!this.down) {
      this.down = { since: Date.now(), cause };
      this.options.log?.warn({ address: this.settings.address, err: (cause as Error)?.message }, 'Temporal is unreachable; refusing commands until it answers');
    } else {
      this.down.cause = cause;
    }
    this.scheduleRecheck();
  }

  private markUp(): void {
    if (!this.down) return;
    this.options.log?.info({ address: this.settings.address, downMs: Date.now() - this.down.since }, 'Temporal answers again');
    this.down = undefined;
    clearTimeout(this.recheck);
    this.recheck = undefined;
  }

  private scheduleRecheck(): void {
    if (this.recheck || this.closed) return;
    this.recheck = setTimeout(() => {
      this.recheck = undefined;
      if (!this.down || this.closed) return;
      void this.check()
        .catch(() => undefined)
        .then(() => this.down && this.scheduleRecheck());
    }, this.options.recheckMs ?? 1_000);
    this.recheck.unref();
  }
}

/**
 * A failure that says the cluster cannot be reached, not that the call was
 * refused. A slow answer (DEADLINE_EXCEEDED) is not one: a busy server must not
 * get every command refused for a second.
 */
export function isConnectivityFailure(err: unknown): boolean {
  for (let e = err; e; e = (e as { cause?: unknown }).cause) {
    if (e instanceof TemporalUnavailableError) return true;
    if ((e as { code?: unknown }).code === UNAVAILABLE) return true;
  }
  return false;
}

/**
 * Registers Tollgate's search attributes on a cluster that lacks them (an
 * existing TEMPORAL_ADDRESS); the dev server gets them at start-up already.
 */
export async function ensureSearchAttributes(client: Client, namespace: string, wanted: Record<string, SearchAttributeKind>): Promise<string[]> {
  const types = temporal.api.enums.v1.IndexedValueType;
  const existing = await client.connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set([...Object.keys(existing.customAttributes ?? {}), ...Object.keys(existing.systemAttributes ?? {})]);
  const missing = Object.entries(wanted).filter(([name]) => !known.has(name));
  if (missing.length === 0) return [];
  await client.connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      missing.map(([name, type]) => [name, { Keyword: types.INDEXED_VALUE_TYPE_KEYWORD, KeywordList: types.INDEXED_VALUE_TYPE_KEYWORD_LIST, Text: types.INDEXED_VALUE_TYPE_TEXT }[type]]),
    ),
  });
  return missing.map(([name]) => name);
}
