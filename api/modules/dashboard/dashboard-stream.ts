import { isAfter, isVisible } from '../../../domain/dashboard/events';
import { eventsAfter } from '../../../store/dashboard-events';
import type { HubSubscriber } from '../../realtime/hub';
import { MarkedStream, type StreamDeps } from '../../realtime/marked-stream';
import type { StreamSocket } from '../../realtime/stream-socket';

const PAGE = 200;

export interface DashboardStart {
  /** The id the client saw last: everything after it is sent, then what comes. */
  after: string;
  /** Set when the retention purge deleted events after `after`: the client is told before anything else. */
  purgedThrough: string | null;
}

interface Pending {
  dirty: boolean;
}

/**
 * WS /dashboard/stream: the tenant's events from Postgres, in id order. It
 * subscribes before its first read, and every read takes what lies after the
 * last id it handled, so an event that lands during the replay is read once,
 * by whichever read comes first (a notice for an id already passed is
 * dropped): no gap and no repeat. Events of a family the caller may not read
 * are passed over.
 */
export class DashboardStream extends MarkedStream<Pending> {
  private cursor: string;

  constructor(
    deps: StreamDeps,
    tenantId: string,
    socket: StreamSocket,
    private readonly start_: DashboardStart,
    private readonly families: ReadonlySet<string>,
  ) {
    super(deps, tenantId, socket, 'dashboard stream');
    this.cursor = start_.after;
  }

  protected nothing(): Pending {
    return { dirty: false };
  }

  protected hasWork(p: Pending): boolean {
    return p.dirty;
  }

  protected listeners(): Omit<HubSubscriber, 'tenantId' | 'onResync'> {
    return {
      onDashboardEvent: (notice) => {
        if (isAfter(notice.id, this.cursor)) this.mark((p) => (p.dirty = true));
      },
    };
  }

  protected markAll(p: Pending): void {
    p.dirty = true;
  }

  protected async snapshot(): Promise<void> {
    const { after, purgedThrough } = this.start_;
    if (purgedThrough !== null) {
      await this.socket.send({
        type: 'gap',
        lastEventId: after,
        purgedThrough,
        message: `Events up to ${purgedThrough} are past the retention window; some after ${after} are gone: read the current state again`,
      });
    }
    await this.drain();
    await this.socket.send({ type: 'ready', lastEventId: this.cursor });
  }

  protected async process(): Promise<boolean> {
    await this.drain();
    return false;
  }

  private async drain(): Promise<void> {
    for (;;) {
      const events = await eventsAfter(this.deps.pool, this.tenantId, this.cursor, PAGE);
      for (const e of events) {
        if (this.stopped || !this.socket.open) return;
        if (isVisible(e.event, this.families)) await this.socket.send({ type: 'event', ...e });
        this.cursor = e.id;
      }
      if (events.length < PAGE) return;
    }
  }
}
