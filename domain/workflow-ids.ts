/**
 * Resource kinds that live as workflows; the id scheme is `<tenant>:<kind>:<id>`, so the API reaches a
 * resource's workflow from its id without a lookup. An incident's SLA clock is `incident`; its notification
 * runs and bulk jobs have kinds of their own.
 */
export type ResourceKind =
  | 'change'
  | 'promotion'
  | 'deployment'
  | 'rollout'
  | 'incident'
  | 'incident-notify'
  | 'incident-bulk'
  | 'cmdb-bulk'
  | 'template-run'
  | 'target-health-check'
  | 'integration-call'
  | 'integration-health'
  | 'audit-report';

export function workflowId(tenantId: string, kind: ResourceKind, id: string): string {
  return `${tenantId}:${kind}:${id}`;
}

/** Tenant ids become part of workflow ids and sequence names, so they are kept to a safe alphabet. */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
