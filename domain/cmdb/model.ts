import type { CiClass } from './classes';

/** A configuration item as both dialects serve it (snake_case, as the StackFlow documents write fields). */
export interface ConfigurationItem {
  id: string;
  name: string;
  class: CiClass;
  environment: string | null;
  owner_group: string | null;
  lifecycle_state: LifecycleState;
  description: string | null;
  attributes: Record<string, unknown>;
  created_by: string;
  created_at: string;
  updated_at: string;
  version: number;
}

export const LIFECYCLE_STATES = ['planned', 'operational', 'maintenance', 'retired'] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

/**
 * "source <type> target": the source needs the target. Whatever the type, the
 * target going down affects the source, so the impact walk follows all three.
 */
export const RELATIONSHIP_TYPES = ['depends_on', 'runs_on', 'part_of'] as const;
export type RelationshipType = (typeof RELATIONSHIP_TYPES)[number];

export interface Relationship {
  id: string;
  source_id: string;
  type: RelationshipType;
  target_id: string;
  /** Seen from the CI whose relationships are listed: outgoing when it is the source. */
  direction: 'outgoing' | 'incoming';
  created_by: string;
  created_at: string;
}

export const CI_ID_PATTERN = /^CI\d{7,18}$/;
export const RELATIONSHIP_ID_PATTERN = /^rel_[a-z0-9]{8,40}$/;
export const CMDB_BULK_JOB_ID_PATTERN = /^cibulk_[a-z0-9]{8,40}$/;

export const ciNumberToId = (n: number | string): string => `CI${String(n).padStart(7, '0')}`;

/** Fields only the server writes: named as such when a body sends them. */
export const READ_ONLY_CI_FIELDS = ['id', 'created_by', 'created_at', 'updated_at', 'version'] as const;

/** How far GET /cmdb/cis/{id}/impact walks when not told, and the most it will walk. */
export const IMPACT_DEFAULT_DEPTH = 5;
export const IMPACT_MAX_DEPTH = 10;
/**
 * Paths the walk may follow before it stops and says so (`truncated`): a dense
 * graph has many paths to each CI, and the walk must answer in bounded time.
 */
export const IMPACT_MAX_PATHS = 20_000;

export interface ImpactedCi {
  id: string;
  name: string;
  class: CiClass;
  environment: string | null;
  lifecycle_state: LifecycleState;
  /** Hops from the CI that goes down: 1 for its direct dependants. */
  depth: number;
  /** Ids from the CI that goes down to this one (both included), along a shortest path. */
  path: string[];
  /** The relationship type of the last hop on that path. */
  via: RelationshipType;
}

export interface Impact {
  ci_id: string;
  depth: number;
  total: number;
  truncated: boolean;
  affected: ImpactedCi[];
}
