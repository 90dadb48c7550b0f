import { upgradeWebSocket } from '@hono/node-server';
import type { WebSocket } from 'ws';
import { EVENT_FAMILIES, isAfter, parseEventId, visibleFamilies } from '../../../domain/dashboard/events';
import { permissionRefusal } from '../../../domain/permissions';
import { eventHead } from '../../../store/dashboard-events';
import type { Pool } from '../../../platform/db';
import { Forbidden, ServiceUnavailable, ValidationFailed } from '../../errors';
import { principalOf } from '../../principal';
import { streamCredentialOf } from '../../realtime/stream-credential';
import { StreamSocket, streamBound } from '../../realtime/stream-socket';
import { requireUpgrade } from '../../realtime/upgrade';
import { createRouter } from '../../router';
import { DashboardStream, type DashboardStart } from './dashboard-stream';

/** How long a socket opened without a resume point waits for a first `{"type":"resume","lastEventId":…}` message. */
export const RESUME_WAIT_MS = 1_000;

/**
 * WS /dashboard/stream, a plain route (a WebSocket is no OpenAPI operation).
 * The token (also as ?access_token=), the permissions and the resume point
 * are decided before the upgrade, so a refusal is an ordinary HTTP answer.
 * A client resumes with `?lastEventId=`, a `Last-Event-ID` header, or a first
 * message `{"type":"resume","lastEventId":"…"}`; without any, it gets what
 * happens from the moment it connected.
 */
export function dashboardRouter() {
  const router = createRouter();
  router.get('/dashboard/stream', async (c) => {
    const principal = principalOf(c);
    const families = visibleFamilies(principal);
    if (principal.agentId || families.size === 0) {
      const needed = Object.values(EVENT_FAMILIES);
      const { message, allowedRoles } = permissionRefusal(...needed);
      throw new Forbidden(message, 'FORBIDDEN', { required: needed, roles: principal.roles, allowedRoles });
    }
    const { pool, realtime, log, config } = c.get('deps');
    if (!realtime) throw new ServiceUnavailable('This API process serves no live streams', 'STREAMS_UNAVAILABLE');
    const given = c.req.query('lastEventId') ?? c.req.header('last-event-id');
    const resumeFrom = given === undefined ? undefined : await knownEventId(pool, principal.tenantId, given);
    requireUpgrade(c);
    const headAtConnect = (await eventHead(pool, principal.tenantId)).last;
    const deps = { pool, hub: realtime, log: c.get('log') ?? log };
    const credential = streamCredentialOf(c);
    let stream: DashboardStream | undefined;
    let closed = false;
    return upgradeWebSocket(
      c,
      {
        onOpen(_event, ws) {
          const raw = ws.raw as unknown as WebSocket;
          const socket = new StreamSocket(raw, {
            bound: streamBound(config),
            resumeHint: 'reconnect with lastEventId',
            onSlow: () => {
              deps.log.info({ tenantId: principal.tenantId }, 'dashboard stream closed: the client fell too far behind');
              stream?.stop();
            },
          });
          const begin = async (after: string) => {
            if (closed) return;
            const { purgedThrough: purged } = await eventHead(pool, principal.tenantId);
            if (closed) return;
            const start: DashboardStart = { after, purgedThrough: isAfter(purged, after) ? purged : null };
            stream = new DashboardStream(deps, principal.tenantId, socket, start, families);
            stream.guardCredential(credential);
            await stream.start();
          };
          const failed = (err: unknown) => {
            deps.log.warn({ err }, 'dashboard stream could not start');
            socket.close(1011, 'stream failed; reconnect');
          };
          if (resumeFrom !== undefined) {
            begin(resumeFrom).catch(failed);
            return;
          }
          let settled = false;
          const fallback = setTimeout(() => {
            settled = true;
            begin(headAtConnect).catch(failed);
          }, RESUME_WAIT_MS);
          raw.once('message', (data) => {
            if (settled) return;
            settled = true;
            clearTimeout(fallback);
            resumeMessage(pool, principal.tenantId, String(data)).then(
              (id) => (id === undefined ? socket.close(1008, 'INVALID_RESUME: the first message must be {"type":"resume","lastEventId":"<id>"}') : begin(id)),
              failed,
            );
          });
        },
        onClose() {
          closed = true;
          stream?.stop();
        },
      },
      { onError: (err) => deps.log.warn({ err }, 'dashboard stream: socket error') },
    );
  });
  return router;
}

/** An id the tenant's stream has sent (or sends next): a larger one names nothing the client can have seen. */
async function knownEventId(pool: Pool, tenantId: string, value: string): Promise<string> {
  const id = parseEventId(value);
  if (id === undefined) throw new ValidationFailed([{ field: 'lastEventId', code: 'invalid_format', message: 'must be an event id (a non-negative integer) the stream sent' }]);
  if (!(await issued(pool, tenantId, id))) throw new ValidationFailed([{ field: 'lastEventId', code: 'out_of_range', message: `this tenant has no event ${id} yet` }]);
  return id;
}

async function issued(pool: Pool, tenantId: string, id: string): Promise<boolean> {
  return !isAfter(id, (await eventHead(pool, tenantId)).last);
}

async function resumeMessage(pool: Pool, tenantId: string, text: string): Promise<string | undefined> {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!message || typeof message !== 'object' || (message as { type?: unknown }).type !== 'resume') return undefined;
  const id = parseEventId((message as { lastEventId?: unknown }).lastEventId);
  return id !== undefined && (await issued(pool, tenantId, id)) ? id : undefined;
}
