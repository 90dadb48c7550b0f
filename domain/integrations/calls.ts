import type { SearchAttributePair } from '@temporalio/common';
import { SA } from '../search-attributes';

/**
 * The wire shapes of one call to an integration or a plugin, as the API, the
 * integrationCall workflow (started by a request or by an integration's health
 * Schedule) and its activity read them. The input names what to call, never
 * its config: the activity reads the row (and opens its secrets) when it runs,
 * so a Schedule made at create time calls the integration as it is now, and
 * no secret enters a workflow's history.
 */

export type CallTarget = { source: 'integration'; id: string } | { source: 'plugin'; pluginId: string; instanceId?: string };

export const CALL_OPERATIONS = ['test', 'discover', 'health', 'tags', 'notify'] as const;
export type CallOperation = (typeof CALL_OPERATIONS)[number];

export interface IntegrationCallInput {
  tenantId: string;
  target: CallTarget;
  operation: CallOperation;
  /** What the operation needs besides the config: a repository for `tags`, a notification for `notify`. */
  args?: Record<string, unknown>;
  /** Health answers are recorded on the integration's row (or the plugin's state). */
  record?: boolean;
}

export interface IntegrationCallResult {
  ok: boolean;
  /** Why not, when not ok: what a user can act on (`connect ECONNREFUSED 127.0.0.1:5000`, `timed out after 5000 ms`). */
  reason: string | null;
  /** What was found (discover, tags) or said (test, health). */
  details: Record<string, unknown>;
  durationMs: number;
  checkedAt: string;
}

export const INTEGRATION_CALL_WORKFLOW_TYPE = 'integrationCall';
/** The longest any call may take: a type's own timeoutMs is at most 60 s, and a registry sync makes one call per tag. */
export const CALL_ACTIVITY_TIMEOUT_MS = 5 * 60_000;

export function callSearchAttributesOf(tenantId: string, target: CallTarget, operation: CallOperation): SearchAttributePair[] {
  return [
    { key: SA.tenant, value: tenantId },
    { key: SA.kind, value: 'integration-call' },
    { key: SA.resourceId, value: target.source === 'integration' ? target.id : target.pluginId },
    { key: SA.type, value: operation },
  ];
}
