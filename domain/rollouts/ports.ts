import type { Judgement, Sample, Thresholds } from './judge';
import type { AnalysisMetric, MetricProvider } from './steps';
import type { TrafficActivity, TrafficActivityInputs, TrafficActivityResults } from '../traffic';

/** The agent's traffic activities as the workflow schedules them on `agent-<id>` (the contract of traffic.ts). */
export type AgentTrafficActivities = { [K in TrafficActivity]: (input: TrafficActivityInputs[K]) => Promise<TrafficActivityResults[K]> };

/** One kept measurement: what was measured for both variants, the thresholds it was judged with, and the judgement. */
export interface RolloutMeasurement {
  id: string;
  rolloutId: string;
  stepIndex: number;
  at: string;
  metric: AnalysisMetric;
  provider: MetricProvider;
  sample: Sample;
  thresholds: Thresholds;
  judgement: Judgement;
  /** The integration that answered it, if any. */
  integration: { id: string; name: string } | null;
}

export interface PrometheusMeasureInput {
  /** The analysis's address, or null for the worker's PROMETHEUS_URL (or its integration). */
  address: string | null;
  /** A `prometheus` integration of the tenant, opened by the activity (its token never enters the history). */
  integrationId?: string;
  tenantId?: string;
  stableQuery: string;
  canaryQuery: string;
  /** Requests each variant served over the window (absent with a query of the analysis's own). */
  stableRequestsQuery?: string;
  canaryRequestsQuery?: string;
}

export interface PrometheusMeasureResult {
  stable: number | null;
  canary: number | null;
  /** Absent in histories recorded before request counts were asked. */
  stableRequests?: number | null;
  canaryRequests?: number | null;
  /** The integration that answered, when the analysis named one. */
  integration?: { id: string; name: string };
}
