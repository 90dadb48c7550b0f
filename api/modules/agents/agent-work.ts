import type { OpenAPIHono } from '@hono/zod-openapi';
import { upgradeWebSocket } from '@hono/node-server';
import type { Context } from 'hono';
import type { WebSocket } from 'ws';
import { completeDelivery, heartbeatDelivery, type CompletionDeps } from '../../agent-work/completion';
import type { AgentChannel } from '../../agent-work/relay';
import type { AppEnv } from '../../context';
import { ServiceUnavailable } from '../../errors';
import { requireAgentCredential } from '../../principal';
import { watchCredential } from '../../realtime/credential-watch';
import { streamCredentialOf } from '../../realtime/stream-credential';
import { StreamSocket, streamBound } from '../../realtime/stream-socket';
import { requireUpgrade, uuidParam } from '../../realtime/upgrade';
import { ok } from '../../respond';
import { requireSelf } from './agent-access';
import * as routes from './agent-work.routes';

/**
 * The agent's work channel and what it reports back (api/agent-work/relay.ts):
 * `WS /agents/{id}/work` hands the agent its tasks; heartbeats and results come
 * back as ordinary requests, to any API replica. All of it with the agent's own
 * credential, for itself only.
 */
export function agentWorkRoutes(router: OpenAPIHono<AppEnv>): void {
  router.get('/agents/:id/work', async (c) => {
    const principal = requireAgentCredential(c);
    const id = uuidParam(c, 'id');
    await requireSelf(c, principal, id);
    const relay = c.get('deps').agentWork;
    if (!relay) throw new ServiceUnavailable('This API process relays no agent tasks', 'AGENT_WORK_UNAVAILABLE');
    const { rows } = await c.get('deps').pool.query('SELECT name FROM agents WHERE tenant_id = $1 AND id = $2', [principal.tenantId, id]);
    requireUpgrade(c);
    const log = c.get('log');
    const credential = streamCredentialOf(c);
    let detach: (() => Promise<void>) | undefined;
    let unwatch: (() => void) | undefined;
    let gone = false;
    return upgradeWebSocket(
      c,
      {
        onOpen(_event, ws) {
          const socket = new StreamSocket(ws.raw as unknown as WebSocket, { bound: streamBound(c.get('deps').config) });
          // Revoked or deleted while connected: the channel ends (1008) and no further task reaches the agent.
          unwatch = watchCredential(credential, {
            onEnded: (reason) => {
              log.info({ agentId: id, reason }, 'agent work channel closed: its credential no longer holds');
              socket.close(1008, reason);
            },
            onRecheckFailed: (err) => log.warn({ err, agentId: id }, 'agent work channel: could not recheck its credential; trying again'),
          });
          const channel: AgentChannel = { get open() { return socket.open; }, send: (m) => socket.send(m), close: (code, reason) => socket.close(code, reason) };
          relay.attach({ tenantId: principal.tenantId, agentId: id, name: rows[0]?.name ?? id }, channel).then(
            (stop) => {
              detach = stop;
              if (gone) void stop();
              else log.info({ agentId: id }, 'agent work channel open');
            },
            (err) => {
              log.warn({ err, agentId: id }, 'agent work channel: cannot poll the agent’s queue');
              // 1013: try again later (Temporal unreachable); the agent reconnects with backoff.
              socket.close(1013, 'tasks cannot be relayed right now; reconnect later');
            },
          );
        },
        onClose() {
          gone = true;
          unwatch?.();
          void detach?.();
          log.info({ agentId: id }, 'agent work channel closed');
        },
      },
      { onError: (err) => log.warn({ err }, 'agent work channel: socket error') },
    );
  });

  router.openapi(routes.heartbeatDeliveryRoute, async (c) => {
    const principal = requireAgentCredential(c);
    const { id, deliveryId } = c.req.valid('param');
    const { details } = c.req.valid('json');
    await requireSelf(c, principal, id);
    const answer = await heartbeatDelivery(completionDeps(c), { tenantId: principal.tenantId, agentId: id, deliveryId }, details);
    return ok(c, answer, 200);
  });

  router.openapi(routes.completeDeliveryRoute, async (c) => {
    const principal = requireAgentCredential(c);
    const { id, deliveryId } = c.req.valid('param');
    const body = c.req.valid('json');
    await requireSelf(c, principal, id);
    const answer = await completeDelivery(completionDeps(c), { tenantId: principal.tenantId, agentId: id, deliveryId, requestId: c.get('requestId') }, body);
    return ok(c, answer, 200);
  });
}

function completionDeps(c: Context<AppEnv>): CompletionDeps {
  const { pool, temporal, config } = c.get('deps');
  return { pool, client: () => temporal.client(), namespace: config.TEMPORAL_NAMESPACE };
}
