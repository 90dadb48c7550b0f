import { samePerson } from '../actor';
import type { Approval, GateInputs, GateResult } from './model';
import { evaluateCelGates } from './cel-gates';
import { evaluateHttpGates } from './gates-http';
import { pipelineRefusal } from './pipelines';

/**
 * The one gate evaluator. Activities gather the inputs (release, environment,
 * freeze windows, linked change); create, preview and every re-evaluation run
 * this same function, so a preview says exactly what a real request would meet.
 */
export interface GateContext {
  now: string;
  requester: { userId: string; email?: string | null };
  approvals: readonly Approval[];
}

export function evaluateGates(inputs: GateInputs, ctx: GateContext): GateResult[] {
  return [
    securityGate(inputs),
    freezeGate(inputs),
    approvalGate(inputs, ctx),
    sodGate(inputs, ctx),
    orderGate(inputs),
    changeRequestGate(inputs, ctx),
    ...evaluateCelGates(inputs, ctx),
    ...evaluateHttpGates(inputs),
  ];
}

export function blockers(results: readonly GateResult[]): GateResult[] {
  return results.filter((g) => !g.passed && g.blocking);
}

export function countingApprovals(approvals: readonly Approval[]): Approval[] {
  return approvals.filter((a) => a.decision === 'approved' && !a.invalidated);
}

function securityGate({ release, environment }: GateInputs): GateResult {
  const t = environment.securityThresholds;
  const scan = release.securityScan;
  const details = { criticalCount: scan?.criticalCount ?? null, highCount: scan?.highCount ?? null, maxCritical: t?.maxCritical ?? null, maxHigh: t?.maxHigh ?? null };
  const result = (passed: boolean, message: string): GateResult => ({ gateName: 'security-gate', passed, blocking: !passed, message, details });
  if (!t) return result(true, `${environment.name} sets no security thresholds`);
  if (!scan) return result(false, `${release.name} has no security scan; record one (PUT /releases/{id} with securityScan)`);
  const problems: string[] = [];
  if (scan.criticalCount > t.maxCritical) problems.push(`${scan.criticalCount} critical vulnerabilities exceed threshold (max: ${t.maxCritical})`);
  if (scan.highCount > t.maxHigh) problems.push(`${scan.highCount} high vulnerabilities exceed threshold (max: ${t.maxHigh})`);
  if (problems.length) return result(false, problems.join('; '));
  return result(true, `${scan.criticalCount} critical and ${scan.highCount} high vulnerabilities are within thresholds (max: ${t.maxCritical} critical, ${t.maxHigh} high)`);
}

function freezeGate({ freeze }: GateInputs): GateResult {
  const details = { activeFreezeWindow: freeze.active, nextFreezeWindow: freeze.next };
  if (freeze.active) {
    const why = freeze.active.reason ? ` (${freeze.active.reason})` : '';
    return { gateName: 'freeze-window-gate', passed: false, blocking: false, message: `Freeze "${freeze.active.name}"${why} is active; freeze ends at ${freeze.active.end}`, details };
  }
  const next = freeze.next ? `; next freeze "${freeze.next.name}" starts at ${freeze.next.start}` : '';
  return { gateName: 'freeze-window-gate', passed: true, blocking: false, message: `No active freeze window${next}`, details };
}

function approverText(groups: readonly string[]): string {
  return groups.length ? groups.join(' or ') : 'a user with the promotion:approve permission';
}

function approvalGate({ policy }: GateInputs, ctx: GateContext): GateResult {
  const counted = countingApprovals(ctx.approvals).length;
  const missing = Math.max(0, policy.requiredApprovals - counted);
  const details = { approvalCount: counted, requiredApprovals: policy.requiredApprovals, approverGroups: policy.approverGroups, policyVersion: policy.policyVersion };
  if (missing === 0) return { gateName: 'approval-gate', passed: true, blocking: false, message: `${counted} of ${policy.requiredApprovals} required approvals`, details };
  return {
    gateName: 'approval-gate',
    passed: false,
    blocking: false,
    message: `needs ${missing} more approval${missing === 1 ? '' : 's'} from ${approverText(policy.approverGroups)}`,
    details,
  };
}

function sodGate({ policy }: GateInputs, ctx: GateContext): GateResult {
  const requester = ctx.requester.email ?? ctx.requester.userId;
  const details = { required: policy.requireSeparationOfDuties, requestedBy: requester };
  if (!policy.requireSeparationOfDuties) return { gateName: 'separation-of-duties-gate', passed: true, blocking: false, message: 'Separation of duties is not required', details };
  const self = countingApprovals(ctx.approvals).some((a) => samePerson(ctx.requester, { userId: a.approverId, email: a.approverEmail }));
  if (self) return { gateName: 'separation-of-duties-gate', passed: false, blocking: true, message: `${requester} requested this promotion and cannot approve it`, details };
  return { gateName: 'separation-of-duties-gate', passed: true, blocking: false, message: `${requester} requested this promotion and may not approve it`, details };
}

function orderGate(inputs: GateInputs): GateResult {
  const { release, environment, previousEnvironment, pipeline } = inputs;
  // Inputs from before pipelines existed carry none: the tenant's order applied, and their details stay as they were.
  const named = pipeline ? { pipelineId: pipeline.id, pipelineName: pipeline.name, pipelineOrder: pipeline.environments.map((e) => e.name) } : {};
  const details = { previousEnvironmentId: previousEnvironment?.id ?? null, previousEnvironmentName: previousEnvironment?.name ?? null, targetOrder: environment.order, ...named };
  const refusal = pipelineRefusal(inputs);
  if (refusal) return { gateName: 'promotion-order-gate', passed: false, blocking: true, message: refusal.message, details: { ...details, reason: refusal.code } };
  const where = pipeline?.id ? ` of pipeline ${pipeline.name}` : ' in the pipeline';
  if (!previousEnvironment) return { gateName: 'promotion-order-gate', passed: true, blocking: false, message: `${environment.name} is the first environment${where}`, details };
  if (previousEnvironment.releaseDeployed) {
    return { gateName: 'promotion-order-gate', passed: true, blocking: false, message: `${release.name} is deployed to ${previousEnvironment.name}`, details };
  }
  return {
    gateName: 'promotion-order-gate',
    passed: false,
    blocking: true,
    message: `${release.name} is not deployed to ${previousEnvironment.name}; promote it there first`,
    details,
  };
}

const CHANGE_READY = ['scheduled', 'in_progress'];

function changeRequestGate({ environment, changeRequest, changeId }: GateInputs, ctx: GateContext): GateResult {
  const details = { required: environment.requireChangeRequest, changeId, changeState: changeRequest?.state ?? null, windowStart: changeRequest?.scheduled_start ?? null, windowEnd: changeRequest?.scheduled_end ?? null };
  const fail = (message: string): GateResult => ({ gateName: 'change-request-gate', passed: false, blocking: true, message, details });
  if (!environment.requireChangeRequest) {
    return { gateName: 'change-request-gate', passed: true, blocking: false, message: `${environment.name} does not require a change request`, details };
  }
  if (!changeId) return fail(`${environment.name} requires a change request: pass changeId of a scheduled change`);
  if (!changeRequest) return fail(`change ${changeId} was not found`);
  if (!CHANGE_READY.includes(changeRequest.state)) return fail(`change ${changeId} is ${changeRequest.state}; it must be scheduled or in_progress`);
  const now = Date.parse(ctx.now);
  const [start, end] = [changeRequest.scheduled_start, changeRequest.scheduled_end].map((t) => (t ? Date.parse(t) : NaN));
  if (Number.isNaN(start) || Number.isNaN(end)) return fail(`change ${changeId} has no maintenance window`);
  if (now < start) return fail(`the window of change ${changeId} opens at ${changeRequest.scheduled_start}`);
  if (now >= end) return fail(`the window of change ${changeId} closed at ${changeRequest.scheduled_end}`);
  return { gateName: 'change-request-gate', passed: true, blocking: false, message: `change ${changeId} is ${changeRequest.state} and its window is open until ${changeRequest.scheduled_end}`, details };
}
