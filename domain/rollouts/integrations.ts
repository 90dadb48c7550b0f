import { DomainError } from '../errors';
import type { AnalysisInput, CreateRolloutBody } from './requests';

/**
 * Which integrations a rollout's body names and whether they fit: an analysis's
 * `integrationId` must be a `prometheus` integration of the tenant, a
 * `trafficIntegrationId` a `traffic-webhook` one. A rollout whose traffic goes
 * through a webhook has no router agent, so nothing reads a router's counters
 * (provider router) or probes the backends from the agent's side (provider
 * http): its analyses must be prometheus.
 */

export const ANALYSIS_INTEGRATION_TYPE = 'prometheus';
export const TRAFFIC_INTEGRATION_TYPE = 'traffic-webhook';

export interface IntegrationRef {
  id: string;
  typeId: string;
  name: string;
}

interface NamedAnalysis {
  field: string;
  analysis: AnalysisInput;
}

type Body = Pick<CreateRolloutBody, 'steps' | 'blueGreen' | 'trafficIntegrationId'>;

function analysesOf(body: Body): NamedAnalysis[] {
  const found: NamedAnalysis[] = [];
  (body.steps ?? []).forEach((s, i) => s.analysis && found.push({ field: `steps.${i}.analysis`, analysis: s.analysis }));
  if (body.blueGreen?.prePromotionAnalysis) found.push({ field: 'blueGreen.prePromotionAnalysis', analysis: body.blueGreen.prePromotionAnalysis });
  if (body.blueGreen?.postPromotionAnalysis) found.push({ field: 'blueGreen.postPromotionAnalysis', analysis: body.blueGreen.postPromotionAnalysis });
  return found;
}

/** Every integration id the body names, once each. */
export function integrationIdsOf(body: Body): string[] {
  const ids = analysesOf(body).flatMap((a) => (a.analysis.integrationId ? [a.analysis.integrationId] : []));
  if (body.trafficIntegrationId) ids.push(body.trafficIntegrationId);
  return [...new Set(ids)];
}

function expectType(field: string, id: string, ref: IntegrationRef | undefined, typeId: string, use: string): void {
  if (!ref) throw new DomainError('rule', 'INTEGRATION_NOT_FOUND', `${field}: integration ${id} does not exist in your tenant`, { field, integrationId: id });
  if (ref.typeId !== typeId) {
    throw new DomainError('rule', 'INTEGRATION_WRONG_TYPE', `${field}: integration ${ref.name} is a ${ref.typeId} integration; ${use} needs a ${typeId} integration`, {
      field,
      integrationId: id,
      typeId: ref.typeId,
      expected: typeId,
    });
  }
}

/** Refuses (422) a body whose integrations are missing, of the wrong type, or whose analyses need a router agent the traffic integration replaces. */
export function checkRolloutIntegrations(body: Body, found: ReadonlyMap<string, IntegrationRef>): void {
  const analyses = analysesOf(body);
  for (const { field, analysis } of analyses) {
    if (analysis.integrationId) expectType(`${field}.integrationId`, analysis.integrationId, found.get(analysis.integrationId), ANALYSIS_INTEGRATION_TYPE, 'a prometheus analysis');
  }
  if (!body.trafficIntegrationId) return;
  expectType('trafficIntegrationId', body.trafficIntegrationId, found.get(body.trafficIntegrationId), TRAFFIC_INTEGRATION_TYPE, 'a rollout’s traffic');
  const needsAgent = analyses.find((a) => a.analysis.provider !== 'prometheus');
  if (needsAgent) {
    throw new DomainError(
      'rule',
      'ANALYSIS_NEEDS_ROUTER_AGENT',
      `${needsAgent.field}.provider: ${needsAgent.analysis.provider} analysis runs on the environment's router agent (its counters, its probes), and a rollout whose traffic goes through integration ${found.get(body.trafficIntegrationId)!.name} has none: use provider prometheus`,
      { field: `${needsAgent.field}.provider`, provider: needsAgent.analysis.provider },
    );
  }
}
