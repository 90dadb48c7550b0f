import type { SlaFact } from './sla';

/** Why stakeholders are told about an incident: a request asked for it (created, updated), or the SLA clock recorded a fact. */
export type NotificationReason = 'created' | 'updated' | SlaFact;
