import { createHmac } from 'node:crypto';
import { joinConfig } from '../../../domain/integrations/config';
import { integrationWithSecrets } from '../../../store/integrations';
import { integrationSecretKeys } from '../../../store/integrations-secrets';
import { CallFailed, reasonOf } from '../../integrations/http';
import { notifyThroughPlugin } from '../../integrations/plugin-notify';
import { runtimeOf } from '../../integrations/runtimes';
import { stepFailure, type StepContext, type StepExecutor } from './executor';
import { outboundFetch } from '../../../platform/egress';

interface NotifyInputs {
  url?: string;
  integrationId?: string;
  pluginInstanceId?: string;
  title?: string;
  text: string;
  payload?: Record<string, unknown>;
}

/** The header carrying `sha256=<hex HMAC-SHA256 of the body>` when the worker has TEMPLATE_NOTIFY_SECRET. */
export const NOTIFY_SIGNATURE_HEADER = 'x-tollgate-signature';

/**
 * Posts `{ text, ...payload }` (Slack and Teams read `text`). The receiver can
 * tell the message is Tollgate's by recomputing the signature over the raw body.
 */
export const notifyStep: StepExecutor<NotifyInputs> = async (inputs, context) => {
  if (inputs.integrationId) return throughIntegration(inputs.integrationId, inputs, context);
  if (inputs.pluginInstanceId) return throughPlugin(inputs.pluginInstanceId, inputs, context);
  const { deps, signal, log, request } = context;
  const url = inputs.url!;
  const body = JSON.stringify({ ...(inputs.payload ?? {}), text: inputs.text });
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-tollgate-run': request.runId, 'x-tollgate-node': request.nodeId };
  const secret = deps.config.TEMPLATE_NOTIFY_SECRET;
  if (secret) headers[NOTIFY_SIGNATURE_HEADER] = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  await log(`POST ${url}${secret ? ' (signed)' : ''}`);
  let status: number;
  try {
    const response = await outboundFetch(url, { method: 'POST', headers, body, signal, redirect: 'manual' });
    status = response.status;
    await response.body?.cancel();
  } catch (err) {
    if (signal.aborted) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'EGRESS_DENIED') throw stepFailure('EGRESS_DENIED', `POST ${url} failed: ${cause.message}`);
    throw stepFailure('NOTIFY_FAILED', `POST ${url} failed: ${cause?.code ?? (err as Error).message}`);
  }
  await log(`${status}`);
  if (status < 200 || status > 299) throw stepFailure('NOTIFY_FAILED', `POST ${url} answered ${status}`, { status });
  return { status };
};

/**
 * The tenant's webhook integration delivers it: its format (generic, Slack,
 * Teams), signing secret and retries. The row and its secrets are read here, in
 * the activity, so no secret enters the run's history.
 */
async function throughIntegration(id: string, inputs: NotifyInputs, { deps, log, request }: StepContext): Promise<Record<string, unknown>> {
  const row = await integrationWithSecrets(deps.pool, integrationSecretKeys(deps.config), request.tenantId, id);
  if (!row) throw stepFailure('INTEGRATION_NOT_FOUND', `Integration ${id} not found`);
  const deliver = runtimeOf(row.type_id, 'notify');
  if (!deliver) throw stepFailure('NOT_A_NOTIFIER', `Integration ${row.name} is a ${row.type_id} integration: it does not deliver notifications`);
  await log(`notify through integration ${row.name} (${row.type_id})`);
  const notification = stepNotification(inputs, request);
  try {
    const delivered = await deliver(joinConfig({ config: row.config, secrets: row.secrets }), { notification });
    await log(`${String(delivered.status)} after ${String(delivered.attempts)} attempt(s)`);
    return { status: delivered.status, attempts: delivered.attempts };
  } catch (err) {
    throw stepFailure('NOTIFY_FAILED', err instanceof CallFailed ? err.message : reasonOf(err, Number(row.config.timeoutMs ?? 0)));
  }
}

/** What a receiver gets; `id` (sent as X-Tollgate-Delivery by webhooks) is the same on every retry of the node, so a receiver can drop a repeat. */
const stepNotification = (inputs: NotifyInputs, request: StepContext['request']) => ({
  id: `${request.runId}:${request.nodeId}`,
  title: inputs.title ?? `Workflow run ${request.runId}`,
  text: inputs.text,
  event: 'workflow-run.notify',
  at: new Date().toISOString(),
});

/**
 * A plugin instance delivers it (a notifier plugin loaded from
 * TOLLGATE_PLUGINS): config and secrets read here, the call bounded by
 * PLUGIN_CALL_TIMEOUT and recorded on the plugin's health. A missing
 * instance, a disabled or unloaded plugin, one that is not a notifier, or one
 * that hangs fails the step with its code; it never fails the worker.
 */
async function throughPlugin(id: string, inputs: NotifyInputs, { deps, log, request }: StepContext): Promise<Record<string, unknown>> {
  await log(`notify through plugin instance ${id}`);
  const outcome = await notifyThroughPlugin(deps, request.tenantId, id, stepNotification(inputs, request));
  if (!outcome.ok) {
    await log(`${outcome.code}: ${outcome.reason}`, 'stderr');
    throw stepFailure(outcome.code, outcome.reason, outcome.pluginId ? { pluginId: outcome.pluginId } : undefined);
  }
  await log(`delivered by ${outcome.pluginId} (${outcome.instance}) in ${outcome.durationMs} ms`);
  const status = typeof outcome.details.status === 'number' ? outcome.details.status : undefined;
  return { pluginId: outcome.pluginId, ...(status === undefined ? {} : { status }) };
}
