import type { OpenAPIHono } from '@hono/zod-openapi';
import { upgradeWebSocket } from '@hono/node-server';
import type { Context } from 'hono';
import type { WebSocket } from 'ws';
import type { AppEnv } from '../../context';
import { Forbidden, NotFound, ServiceUnavailable, ValidationFailed } from '../../errors';
import { streamCredentialOf } from '../../realtime/stream-credential';
import { requireUpgrade, uuidParam } from '../../realtime/upgrade';
import { StreamSocket, streamBound } from '../../realtime/stream-socket';
import { principalOf, requirePermission } from '../../principal';
import { AgentTaskStream } from './agent-stream';
import { loadJob } from './deployments.dispatch';
import { JobStream } from './job-stream';
import type { LiveStream, LogsFrom, StreamDeps } from './live-stream';

/**
 * The two live streams, as plain routes (a WebSocket is no OpenAPI operation).
 * Everything a request can be refused for — the token (also as ?access_token=,
 * api/realtime/query-token.ts), the permission, the tenant, the id — is
 * decided before the upgrade, so a refusal is an ordinary HTTP answer (401,
 * 403, 404) and an accepted socket is never closed for a reason known earlier.
 */
export function streamRoutes(router: OpenAPIHono<AppEnv>): void {
  router.get('/deployment-jobs/:id/stream', async (c) => {
    const { tenantId } = requirePermission(c, 'deployment:read');
    const id = uuidParam(c, 'id');
    const deps = streamDeps(c);
    const job = await loadJob(c, tenantId, id);
    const logsFrom = logsFromOf(c);
    requireUpgrade(c);
    const prefix = c.req.path.slice(0, c.req.path.indexOf('/deployment-jobs/'));
    return open(c, (socket) => new JobStream(deps, tenantId, socket, logsFrom, job, prefix));
  });

  // Operators with deployment:read watch any agent of their tenant; an agent, with its own credential, only itself.
  router.get('/agents/:id/task-stream', async (c) => {
    const principal = principalOf(c).agentId ? principalOf(c) : requirePermission(c, 'deployment:read');
    const id = uuidParam(c, 'id');
    const deps = streamDeps(c);
    const { rowCount } = await deps.pool.query('SELECT 1 FROM agents WHERE tenant_id = $1 AND id = $2', [principal.tenantId, id]);
    if (!rowCount) throw new NotFound(`Agent ${id} not found`, 'AGENT_NOT_FOUND');
    if (principal.agentId && principal.agentId !== id) {
      throw new Forbidden(`Agent ${principal.agentId} may watch only its own task stream, not agent ${id}'s`, 'AGENT_ONLY', { agentId: principal.agentId });
    }
    const logsFrom = logsFromOf(c);
    requireUpgrade(c);
    return open(c, (socket) => new AgentTaskStream(deps, principal.tenantId, socket, logsFrom, id));
  });
}

function open(c: Context<AppEnv>, create: (socket: StreamSocket) => LiveStream) {
  let stream: LiveStream | undefined;
  const log = c.get('log');
  const credential = streamCredentialOf(c);
  return upgradeWebSocket(
    c,
    {
      onOpen(_event, ws) {
        stream = create(new StreamSocket(ws.raw as unknown as WebSocket, { bound: streamBound(c.get('deps').config), resumeHint: 'reconnect: a new snapshot follows', onSlow: () => stream?.stop() }));
        stream.guardCredential(credential);
        stream.start().catch((err) => {
          log.warn({ err }, 'live deployment stream could not start');
          ws.close(1011, 'stream failed; reconnect');
        });
      },
      onClose() {
        stream?.stop();
      },
    },
    { onError: (err) => log.warn({ err }, 'live deployment stream: socket error') },
  );
}

function streamDeps(c: Context<AppEnv>): StreamDeps {
  const { pool, realtime, log } = c.get('deps');
  if (!realtime) throw new ServiceUnavailable('This API process serves no live streams', 'STREAMS_UNAVAILABLE');
  return { pool, hub: realtime, log: c.get('log') ?? log };
}

function logsFromOf(c: Context<AppEnv>): LogsFrom {
  const logs = c.req.query('logs');
  if (logs === undefined || logs === '' || logs === 'all') return 'start';
  if (logs === 'new') return 'now';
  throw new ValidationFailed([{ field: 'logs', code: 'invalid_value', message: 'must be all (each task’s log from its start, the default) or new (only what is logged from now on)' }]);
}
