import { createHmac } from 'node:crypto';
import { stepFailure, type StepExecutor } from './executor';

interface NotifyInputs {
  url: string;
  text: string;
  payload?: Record<string, unknown>;
}

/** The header carrying `sha256=<hex HMAC-SHA256 of the body>` when the worker has TEMPLATE_NOTIFY_SECRET. */
export const NOTIFY_SIGNATURE_HEADER = 'x-tollgate-signature';

/**
 * Posts `{ text, ...payload }` (Slack and Teams read `text`). The receiver can
 * tell the message is Tollgate's by recomputing the signature over the raw body.
 */
export const notifyStep: StepExecutor<NotifyInputs> = async (inputs, { deps, signal, log, request }) => {
  const body = JSON.stringify({ ...(inputs.payload ?? {}), text: inputs.text });
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-tollgate-run': request.runId, 'x-tollgate-node': request.nodeId };
  const secret = deps.config.TEMPLATE_NOTIFY_SECRET;
  if (secret) headers[NOTIFY_SIGNATURE_HEADER] = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  await log(`POST ${inputs.url}${secret ? ' (signed)' : ''}`);
  let status: number;
  try {
    const response = await fetch(inputs.url, { method: 'POST', headers, body, signal, redirect: 'manual' });
    status = response.status;
    await response.body?.cancel();
  } catch (err) {
    if (signal.aborted) throw err;
    const cause = (err as { cause?: { code?: string } }).cause;
    throw stepFailure('NOTIFY_FAILED', `POST ${inputs.url} failed: ${cause?.code ?? (err as Error).message}`);
  }
  await log(`${status}`);
  if (status < 200 || status > 299) throw stepFailure('NOTIFY_FAILED', `POST ${inputs.url} answered ${status}`, { status });
  return { status };
};
