import type { OpenAPIHono } from '@hono/zod-openapi';
import { upgradeWebSocket } from '@hono/node-server';
import type { WebSocket } from 'ws';
import type { AppEnv } from '../../context';
import { ServiceUnavailable, ValidationFailed } from '../../errors';
import { requirePermission } from '../../principal';
import { streamCredentialOf } from '../../realtime/stream-credential';
import { StreamSocket, streamBound } from '../../realtime/stream-socket';
import { requireUpgrade, uuidParam } from '../../realtime/upgrade';
import { RunStream, type RunLogsFrom } from './run-stream';
import { existingRun } from './workflow-runs.dispatch';

/**
 * WS /workflow-runs/{id}/stream, a plain route (a WebSocket is no OpenAPI
 * operation). The token (also as ?access_token=), the permission, the tenant
 * and the id are decided before the upgrade, so a refusal is an ordinary HTTP
 * answer (401, 403, 404) and an accepted socket is never closed for a reason known earlier.
 */
export function runStreamRoute(router: OpenAPIHono<AppEnv>): void {
  router.get('/workflow-runs/:id/stream', async (c) => {
    const { tenantId } = requirePermission(c, 'template:read');
    const id = uuidParam(c, 'id');
    const { pool, realtime, log, config } = c.get('deps');
    if (!realtime) throw new ServiceUnavailable('This API process serves no live streams', 'STREAMS_UNAVAILABLE');
    const run = await existingRun(c, id);
    const logsFrom = logsFromOf(c.req.query('logs'));
    requireUpgrade(c);
    const deps = { pool, hub: realtime, log: c.get('log') ?? log };
    const credential = streamCredentialOf(c);
    let stream: RunStream | undefined;
    return upgradeWebSocket(
      c,
      {
        onOpen(_event, ws) {
          stream = new RunStream(deps, tenantId, new StreamSocket(ws.raw as unknown as WebSocket, { bound: streamBound(config), resumeHint: 'reconnect: a new snapshot follows', onSlow: () => stream?.stop() }), logsFrom, run);
          stream.guardCredential(credential);
          stream.start().catch((err) => {
            deps.log.warn({ err }, 'live workflow-run stream could not start');
            ws.close(1011, 'stream failed; reconnect');
          });
        },
        onClose() {
          stream?.stop();
        },
      },
      { onError: (err) => deps.log.warn({ err }, 'live workflow-run stream: socket error') },
    );
  });
}

function logsFromOf(logs: string | undefined): RunLogsFrom {
  if (logs === undefined || logs === '' || logs === 'all') return 'start';
  if (logs === 'new') return 'now';
  throw new ValidationFailed([{ field: 'logs', code: 'invalid_value', message: 'must be all (each node’s lines from the first, the default) or new (only lines logged from now on)' }]);
}
