import { RISK_INPUT_FIELDS, type Change, type ChangeDecision, type ChangeType, type RiskAssessment, type RiskFactor, type RiskLevel } from './model';

/**
 * Tollgate's change risk model: deterministic and explainable. Each factor
 * scores 0-100 and carries a fixed weight; the weights sum to 1 and the
 * change's risk_score is the rounded weighted sum, so anyone can re-add it.
 * Bump MODEL_VERSION whenever a weight, threshold or keyword changes: stored
 * assessments keep the version they were computed with.
 */
export const RISK_MODEL_VERSION = 'tollgate-risk-1.2';

export const RISK_WEIGHTS = {
  impact: 0.35,
  window: 0.15,
  backout: 0.15,
  test: 0.1,
  conflicts: 0.1,
  history: 0.1,
  type: 0.05,
} as const;

/**
 * A change on a CI the CMDB knows: the CI's blast radius (how many CIs need
 * it, transitively) is a factor of its own, its weight taken from impact's,
 * so the weights still sum to 1 and a change without one scores as before.
 */
export const BLAST_RADIUS_WEIGHTS = { impact: 0.25, blast_radius: 0.1 } as const;

export interface RiskInput {
  type: ChangeType;
  short_description: string;
  description: string | null;
  implementation_plan: string | null;
  backout_plan: string | null;
  test_plan: string | null;
  ci_id: string | null;
  assignment_group: string | null;
  scheduled_start: string | null;
  scheduled_end: string | null;
  /** Other open changes whose windows overlap on the same CI or assignment group. */
  conflictIds: string[];
  /** Outcomes of the assignment group's recent finished changes. */
  groupHistory: { completed: number; failed: number };
  /** Open P1/P2 incidents on the change's CI: working on a CI that is on fire conflicts with the fire. */
  incidentIds?: string[];
  /** The CI's dependants in the CMDB (all, and the direct ones); absent when the change names no CI the CMDB knows. */
  blastRadius?: { dependants: number; direct: number };
}

const SIGNALS = {
  critical: ['payment', 'payments', 'billing', 'auth', 'authentication', 'identity', 'sso', 'iam', 'dns', 'firewall', 'load balancer', 'certificate', 'tls', 'kms', 'encryption', 'core network'],
  database: ['database', 'databases', 'db', 'aurora', 'postgres', 'postgresql', 'mysql', 'rds', 'oracle', 'schema', 'migration', 'redis', 'dynamodb', 'cassandra', 'mongodb', 'kafka', 'replica', 'failover'],
  production: ['production', 'prod', 'live', 'customer-facing', 'all customers'],
  disruption: ['downtime', 'outage', 'restart', 'reboot', 'cutover', 'failover'],
} as const;

const NON_ANSWERS = new Set(['', 'n/a', 'na', 'none', 'tbd', 'todo', '-', '.', 'nothing', 'no']);

const MIN_HISTORY = 3;
const HOUR = 3_600_000;

export function levelFor(score: number): RiskLevel {
  if (score < 25) return 'low';
  if (score < 50) return 'medium';
  if (score < 75) return 'high';
  return 'critical';
}

export function assessRisk(input: RiskInput, now: string): RiskAssessment {
  const impact = impactFactor(input);
  const radius = input.blastRadius;
  const factors: RiskFactor[] = [
    { ...impact, weight: radius ? BLAST_RADIUS_WEIGHTS.impact : RISK_WEIGHTS.impact },
    ...(radius ? [{ ...blastRadiusFactor(input.ci_id, radius), weight: BLAST_RADIUS_WEIGHTS.blast_radius }] : []),
    { ...windowFactor(input), weight: RISK_WEIGHTS.window },
    { ...planFactor(input.backout_plan, 'Rollback plan', { absent: 100, thin: 50, present: 15, thorough: 10 }), weight: RISK_WEIGHTS.backout },
    { ...planFactor(input.test_plan, 'Test plan', { absent: 100, thin: 60, present: 20, thorough: 15 }), weight: RISK_WEIGHTS.test },
    { ...conflictFactor(input.conflictIds, input.incidentIds ?? [], input.ci_id), weight: RISK_WEIGHTS.conflicts },
    { ...historyFactor(input), weight: RISK_WEIGHTS.history },
    { ...typeFactor(input.type), weight: RISK_WEIGHTS.type },
  ].map(({ factor, score, weight }) => ({ factor, weight, score }));
  const risk_score = Math.round(factors.reduce((sum, f) => sum + f.weight * f.score, 0));
  const risk_level = levelFor(risk_score);
  return {
    risk_score,
    risk_level,
    factors,
    recommendation: recommend(risk_level, input, impact.category),
    model_version: RISK_MODEL_VERSION,
    assessed_at: now,
  };
}

type Scored = { factor: string; score: number };

function words(text: string | null | undefined): string[] {
  return (text ?? '').toLowerCase().split(/[^a-z0-9\-]+/).filter(Boolean);
}

function mentions(text: string, vocabulary: readonly string[]): boolean {
  const padded = ` ${words(text).join(' ')} `;
  return vocabulary.some((term) => padded.includes(` ${term} `));
}

type ImpactCategory = 'critical' | 'database' | 'production' | 'ci' | 'none';

function impactFactor(input: RiskInput): Scored & { category: ImpactCategory } {
  const text = [input.short_description, input.description, input.implementation_plan, input.ci_id].filter(Boolean).join(' ');
  const critical = mentions(text, SIGNALS.critical);
  const database = mentions(text, SIGNALS.database);
  const production = mentions(text, SIGNALS.production);
  const disruption = mentions(text, SIGNALS.disruption);
  let score: number;
  let factor: string;
  let category: ImpactCategory;
  if (critical) {
    [score, category] = [90, 'critical'];
    factor = production ? 'Production critical-system change' : 'Critical-system change';
  } else if (database) {
    [score, category] = [70, 'database'];
    factor = production ? 'Production database change' : 'Database change';
  } else if (production) {
    [score, category, factor] = [60, 'production', 'Production change'];
  } else if (input.ci_id) {
    [score, category, factor] = [30, 'ci', `Configuration item ${input.ci_id} affected`];
  } else {
    [score, category, factor] = [10, 'none', 'No production or critical-system signals'];
  }
  if (production && (critical || database)) score += 10;
  if (disruption) {
    score += 10;
    factor += ' with expected disruption';
  }
  return { factor, score: Math.min(100, score), category };
}

function blastRadiusFactor(ciId: string | null, radius: { dependants: number; direct: number }): Scored {
  const { dependants, direct } = radius;
  if (dependants === 0) return { factor: `Blast radius of ${ciId}: no CI depends on it`, score: 0 };
  const factor = `Blast radius of ${ciId}: ${dependants} dependant CI${dependants > 1 ? 's' : ''} (${direct} direct)`;
  if (dependants <= 2) return { factor, score: 30 };
  if (dependants <= 9) return { factor, score: 60 };
  if (dependants <= 24) return { factor, score: 80 };
  return { factor, score: 100 };
}

function windowFactor(input: RiskInput): Scored {
  if (!input.scheduled_start || !input.scheduled_end) return { factor: 'No maintenance window scheduled', score: 80 };
  const hours = (Date.parse(input.scheduled_end) - Date.parse(input.scheduled_start)) / HOUR;
  const label = hours >= 1 ? `${Math.round(hours * 10) / 10}h` : `${Math.round(hours * 60)}min`;
  if (hours <= 2) return { factor: `Maintenance window scheduled (${label})`, score: 10 };
  if (hours <= 4) return { factor: `Maintenance window scheduled (${label})`, score: 25 };
  if (hours <= 8) return { factor: `Long maintenance window (${label})`, score: 45 };
  return { factor: `Very long maintenance window (${label})`, score: 65 };
}

/** A plan's substance: its words and its numbered or bulleted steps. */
export function planSubstance(plan: string | null | undefined): 'absent' | 'thin' | 'present' | 'thorough' {
  const text = (plan ?? '').trim();
  if (NON_ANSWERS.has(text.toLowerCase())) return 'absent';
  // Step numbers and bullets are structure, not instructions.
  const count = words(text).filter((w) => !/^(\d+|-+)$/.test(w)).length;
  const steps = text.split('\n').filter((line) => /^\s*(\d+[.)]|[-*•])\s+\S/.test(line)).length;
  if (count < 4) return 'thin';
  if (steps >= 2 || count >= 20) return 'thorough';
  return 'present';
}

function planFactor(plan: string | null, name: string, scores: Record<ReturnType<typeof planSubstance>, number>): Scored {
  const substance = planSubstance(plan);
  const labels = { absent: `No ${name.toLowerCase()}`, thin: `${name} is too thin to follow`, present: `${name} present`, thorough: `${name} present with steps` };
  return { factor: labels[substance], score: scores[substance] };
}

function conflictFactor(conflictIds: string[], incidentIds: string[], ciId: string | null): Scored {
  const listOf = (ids: string[]) => ids.slice(0, 3).join(', ') + (ids.length > 3 ? ', …' : '');
  const overlap = `Overlaps ${conflictIds.length} other change${conflictIds.length > 1 ? 's' : ''} on the same CI or group (${listOf(conflictIds)})`;
  if (incidentIds.length) {
    const incidents = `Open P1/P2 incident${incidentIds.length > 1 ? 's' : ''} on ${ciId} (${listOf(incidentIds)})`;
    return { factor: conflictIds.length ? `${incidents}; ${overlap.charAt(0).toLowerCase()}${overlap.slice(1)}` : incidents, score: conflictIds.length ? 100 : 90 };
  }
  if (conflictIds.length === 0) return { factor: 'No conflicting changes in the window', score: 0 };
  return { factor: overlap, score: conflictIds.length === 1 ? 60 : 85 };
}

function historyFactor(input: RiskInput): Scored {
  if (!input.assignment_group) return { factor: 'No assignment group to judge track record', score: 30 };
  const { completed, failed } = input.groupHistory;
  const total = completed + failed;
  if (total < MIN_HISTORY) return { factor: `Too little change history for ${input.assignment_group}`, score: 30 };
  const rate = failed / total;
  return { factor: `Recent failure rate ${Math.round(rate * 100)}% for ${input.assignment_group} (${failed}/${total})`, score: Math.round(Math.min(1, rate * 2) * 100) };
}

function typeFactor(type: ChangeType): Scored {
  const scores: Record<ChangeType, number> = { standard: 10, normal: 30, emergency: 80 };
  const labels: Record<ChangeType, string> = {
    standard: 'Standard (pre-approved) change',
    normal: 'Normal change',
    emergency: 'Emergency change without pre-approval',
  };
  return { factor: labels[type], score: scores[type] };
}

/**
 * Only a normal change goes to CAB: a standard change is pre-approved and an
 * emergency one is reviewed after the fact, so their advice never mentions a CAB
 * review they will not get.
 */
const OPENINGS: Record<ChangeType, Record<RiskLevel, string>> = {
  normal: {
    low: 'Low risk: proceed as planned.',
    medium: 'Proceed with CAB review.',
    high: 'High risk: CAB should review the plans in detail before approving.',
    critical: 'Critical risk: do not proceed without senior CAB sign-off and a rehearsed rollback.',
  },
  standard: {
    low: 'Low risk: proceed as planned.',
    medium: 'Medium risk: proceed as planned, with the rollback ready to run.',
    high: 'High risk for a pre-approved change: have a second engineer check the plans before starting, or raise it as a normal change.',
    critical: 'Critical risk: do not proceed as a standard change; raise it as a normal change so it is reviewed before it starts.',
  },
  emergency: {
    low: 'Low risk: proceed as planned.',
    medium: 'Medium risk: proceed, and record the post-implementation review promptly.',
    high: 'High risk: have a second engineer check the plans before starting; the post-implementation review must follow.',
    critical: 'Critical risk: do not proceed without senior sign-off and a rehearsed rollback.',
  },
};

function recommend(level: RiskLevel, input: RiskInput, impact: ImpactCategory): string {
  const opening = OPENINGS[input.type];
  const advice: string[] = [];
  if (impact === 'database') advice.push('Ensure a DBA is on call during the maintenance window.');
  if (impact === 'critical') advice.push('Have the owning team on call and a communication plan ready.');
  const substance = { backout: planSubstance(input.backout_plan), test: planSubstance(input.test_plan) };
  if (substance.backout === 'absent' || substance.backout === 'thin') advice.push('Document a step-by-step rollback procedure.');
  if (substance.test === 'absent' || substance.test === 'thin') advice.push('Add a test plan that verifies the change.');
  if (!input.scheduled_start || !input.scheduled_end) advice.push('Schedule a maintenance window.');
  if (input.conflictIds.length) advice.push(`Resolve the schedule overlap with ${input.conflictIds.join(', ')}.`);
  if (input.incidentIds?.length) advice.push(`Check with the owners of ${input.incidentIds.join(', ')} before touching ${input.ci_id}.`);
  return [opening[level], ...advice].join(' ');
}

/** Applies a new assessment (and the conflicts it found) without counting as a separate command. */
export function withAssessment(change: Change, assessment: RiskAssessment, conflicts: Change['conflicts']): Change {
  return { ...change, risk_score: assessment.risk_score, risk_level: assessment.risk_level, risk_assessment: assessment, conflicts };
}

/** What an assessment changes that the caller is answered with, and so the audit trail records. */
const ASSESSED_FIELDS = ['risk_score', 'risk_level', 'conflicts'] as const;

/**
 * A decision as it is persisted once the assessment it asked for has run: the
 * change carries the new score and so do its audit events, so the trail shows
 * what the caller saw. A create's snapshot is the assessed change; an edit that
 * moved the score records the move on the event that edited a risk input.
 */
export function withAssessedDecision(decision: ChangeDecision, assessment: RiskAssessment, conflicts: Change['conflicts']): ChangeDecision {
  const unassessed = decision.next;
  const next = withAssessment(unassessed, assessment, conflicts);
  const moved = ASSESSED_FIELDS.filter((f) => JSON.stringify(unassessed[f]) !== JSON.stringify(next[f]));
  const pick = (c: Change) => Object.fromEntries(moved.map((f) => [f, c[f]]));
  const cause = decision.events.findLastIndex((e) => RISK_INPUT_FIELDS.some((f) => f in e.after));
  const events = decision.events.map((event, i) => {
    if (event.before === null) return { ...event, after: { ...next } };
    if (i !== cause || moved.length === 0) return event;
    return { ...event, before: { ...event.before, ...pick(unassessed) }, after: { ...event.after, ...pick(next) } };
  });
  return { ...decision, next, events };
}
