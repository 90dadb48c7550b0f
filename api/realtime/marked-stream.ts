import type { Pool } from '../../platform/db';
import type { Logger } from '../../platform/logger';
import { watchCredential, type StreamCredential } from './credential-watch';
import type { DeploymentEventHub, HubSubscriber } from './hub';
import type { StreamSocket } from './stream-socket';

export interface StreamDeps {
  pool: Pool;
  hub: DeploymentEventHub;
  log: Logger;
}

/**
 * What every live stream shares: it subscribes to the realtime hub before it
 * reads (so nothing written in between is missed), sends a snapshot, then lets
 * events only mark what to read while one loop reads and sends it, so a burst
 * of NOTIFYs costs one read and messages leave in the order they were read.
 * The stream says what its marks are (`P`), how an event marks them, and how
 * to read and send them; `process` answering true ends it with 1000.
 */
export abstract class MarkedStream<P> {
  protected pending: P;
  private running = false;
  private started = false;
  protected stopped = false;
  private unsubscribe?: () => void;
  private unwatch?: () => void;

  constructor(
    protected readonly deps: StreamDeps,
    protected readonly tenantId: string,
    protected readonly socket: StreamSocket,
    /** Names the stream in log lines ("live deployment stream"). */
    private readonly label: string,
  ) {
    this.pending = this.nothing();
  }

  protected abstract nothing(): P;
  protected abstract hasWork(p: P): boolean;
  /** The hub callbacks of the events this stream reads (onEvent, onRunEvent). */
  protected abstract listeners(): Omit<HubSubscriber, 'tenantId' | 'onResync'>;
  /** Marks everything: the hub has just (re)started listening, events may have been missed. */
  protected abstract markAll(p: P): void;
  protected abstract snapshot(): Promise<void>;
  /** Reads and sends what `work` marks; answers whether the stream is done (then it closes with 1000). */
  protected abstract process(work: P): Promise<boolean>;

  async start(): Promise<void> {
    const unsubscribe = await this.deps.hub.subscribe({ tenantId: this.tenantId, ...this.listeners(), onResync: () => this.mark((p) => this.markAll(p)) });
    if (this.stopped) {
      unsubscribe();
      return;
    }
    this.unsubscribe = unsubscribe;
    try {
      await this.snapshot();
    } catch (err) {
      this.fail(err);
      return;
    }
    this.started = true;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /**
   * Ends the stream with 1008 (policy violation) once the credential that opened it no longer holds: an agent
   * revoked or deleted, a token past its exp. What the socket was allowed to see was decided at the upgrade;
   * this keeps that decision from outliving the credential it was made for.
   */
  guardCredential(credential: StreamCredential): void {
    if (this.stopped) return;
    this.unwatch?.();
    this.unwatch = watchCredential(credential, {
      onEnded: (reason) => {
        this.deps.log.info({ reason }, `${this.label} closed: its credential no longer holds`);
        this.socket.close(1008, reason);
        this.stop();
      },
      onRecheckFailed: (err) => this.deps.log.warn({ err }, `${this.label}: could not recheck its credential; trying again`),
    });
  }

  protected mark(change: (p: P) => void): void {
    change(this.pending);
    this.schedule();
  }

  private schedule(): void {
    if (!this.started || this.running || this.stopped) return;
    this.running = true;
    void this.pump()
      .catch((err) => this.fail(err))
      .finally(() => {
        this.running = false;
        if (!this.stopped && this.hasWork(this.pending)) this.schedule();
      });
  }

  private async pump(): Promise<void> {
    while (!this.stopped && this.socket.open && this.hasWork(this.pending)) {
      const work = this.pending;
      this.pending = this.nothing();
      const done = await this.process(work);
      if (done && !this.hasWork(this.pending)) {
        this.socket.close(1000, 'finished');
        this.stop();
      }
    }
  }

  private fail(err: unknown): void {
    this.deps.log.warn({ err }, `${this.label} failed`);
    // 1011: the server met a condition that kept it from going on; the client may reconnect and resume from a snapshot.
    this.socket.close(1011, 'stream failed; reconnect');
    this.stop();
  }
}
