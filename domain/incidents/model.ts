/** The incident as the StackFlow Incidents API shows it (snake_case on every dialect). */

export const INCIDENT_STATES = ['new', 'in_progress', 'on_hold', 'resolved', 'closed', 'cancelled', 'reopened'] as const;
export type IncidentState = (typeof INCIDENT_STATES)[number];

export const PRIORITIES = ['P1', 'P2', 'P3', 'P4'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const LEVELS = ['high', 'medium', 'low'] as const;
export type Level = (typeof LEVELS)[number];

export const NOTE_VISIBILITIES = ['team', 'public'] as const;
export type NoteVisibility = (typeof NOTE_VISIBILITIES)[number];

export const SLA_CLOCK_STATES = ['running', 'paused', 'stopped'] as const;
export type SlaClockState = (typeof SLA_CLOCK_STATES)[number];

/** What the SLA workflow last worked out, as served on the incident. */
export interface IncidentSla {
  clock: SlaClockState;
  response_due_at: string | null;
  response_breached: boolean;
  resolution_due_at: string | null;
  resolution_breached: boolean;
  warned: boolean;
  computed_at: string;
}

export interface Incident {
  id: string;
  number: string;
  short_description: string;
  description: string | null;
  priority: Priority;
  state: IncidentState;
  category: string | null;
  subcategory: string | null;
  impact: Level | null;
  urgency: Level | null;
  assignment_group: string | null;
  assigned_to: string | null;
  opened_by: string;
  ci_id: string | null;
  parent_problem_id: string | null;
  change_id: string | null;
  sla_breach_at: string | null;
  resolved_at: string | null;
  closed_at: string | null;
  created_at: string;
  updated_at: string;
  work_notes_count: number;
  ai_suggested_resolution: string | null;
  /** What fixed it: written when the incident is resolved or closed, cleared when it is reopened. */
  resolution_notes: string | null;
  sla_breached: boolean;
  /** Written with every state or priority change, then kept current by the SLA workflow; null only on rows that predate that. */
  sla: IncidentSla | null;
  version: number;
}

export interface Attachment {
  name: string;
  url: string | null;
  content_type: string | null;
  size_bytes: number | null;
}

export interface IncidentNote {
  id: string;
  incident_id: string;
  body: string;
  visibility: NoteVisibility;
  author: string;
  attachments: Attachment[];
  created_at: string;
}

export function incidentNumberToId(n: number): string {
  return `INC${String(n).padStart(7, '0')}`;
}

export const INCIDENT_ID_PATTERN = /^INC\d{7,18}$/;
export const NOTE_ID_PATTERN = /^note_[a-z0-9]{8,40}$/;
export const BULK_JOB_ID_PATTERN = /^bulk_[a-z0-9]{8,40}$/;

/** Fields the server owns; sending one is refused with code read_only rather than unknown_field. */
export const READ_ONLY_INCIDENT_FIELDS = [
  'id',
  'number',
  'opened_by',
  'sla_breach_at',
  'sla_breached',
  'sla',
  'resolved_at',
  'closed_at',
  'created_at',
  'updated_at',
  'work_notes_count',
  'ai_suggested_resolution',
  'version',
  'deleted',
] as const;
