import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { celCondition, celSyntax } from '../cel';
import type { Approval, GateInputs, GateResult } from './model';

/**
 * Policy as code: an approval policy's own gates, each a CEL condition over
 * the promotion's release (its components and scan counts), the target
 * environment, the approvals that count and the time. They run in the one gate
 * evaluator, after the built-in gates; a gate that does not hold, or cannot be
 * evaluated, blocks with its message. `now` is the evaluator's time (workflow
 * time inside the promotion workflow), so the answer is the same on replay.
 */
export interface CelGate {
  name: string;
  expression: string;
  /** What the gate asks for, shown when it blocks: what would unblock it. */
  message: string;
}

export interface CelGateContext {
  now: string;
  approvals: readonly Approval[];
}

type BindingInputs = { release: Pick<GateInputs['release'], 'id' | 'name' | 'class' | 'deprecated' | 'securityScan' | 'components'>; environment: GateInputs['environment'] };

/**
 * The names an expression reads. Counts are CEL ints; times are CEL timestamps
 * (`now.getDayOfWeek()`, `now.getHours("Europe/Paris")`, `now - a.approvedAt`).
 * Scans are recorded per release, so each component carries its release's counts.
 */
export function celGateBindings(inputs: BindingInputs, ctx: CelGateContext): Record<string, unknown> {
  const { release, environment } = inputs;
  const scan = release.securityScan ? { critical: BigInt(release.securityScan.criticalCount), high: BigInt(release.securityScan.highCount) } : null;
  const t = environment.securityThresholds;
  return {
    release: {
      id: release.id,
      name: release.name,
      class: release.class,
      deprecated: release.deprecated,
      scan,
      components: release.components.map((c) => ({ id: c.componentId, name: c.name, version: c.version, digest: c.digest, scan })),
    },
    environment: {
      id: environment.id,
      name: environment.name,
      order: BigInt(environment.order),
      requireChangeRequest: environment.requireChangeRequest,
      securityThresholds: t ? { maxCritical: BigInt(t.maxCritical), maxHigh: BigInt(t.maxHigh) } : null,
    },
    approvals: ctx.approvals
      .filter((a) => a.decision === 'approved' && !a.invalidated)
      .map((a) => ({ approverId: a.approverId, approverEmail: a.approverEmail, approvedAt: timestampOf(a.approvedAt) })),
    now: timestampOf(ctx.now),
  };
}

const timestampOf = (iso: string) => timestampFromDate(new Date(Date.parse(iso)));

/** The policy's gates, in its order; none (and nothing added to the results) when the policy has none. */
export function evaluateCelGates(inputs: GateInputs, ctx: CelGateContext): GateResult[] {
  const gates = inputs.policy.celGates ?? [];
  if (gates.length === 0) return [];
  const bindings = celGateBindings(inputs, ctx);
  return gates.map((gate) => {
    const details = { name: gate.name, expression: gate.expression };
    try {
      if (celCondition(gate.expression, bindings)) return { gateName: 'cel-gate', passed: true, blocking: false, message: `${gate.name} holds`, details };
      return { gateName: 'cel-gate', passed: false, blocking: true, message: `${gate.name}: ${gate.message}`, details };
    } catch (error) {
      // Fail closed: a gate that cannot say yes (a release without a scan, say) blocks until it can.
      const why = (error as Error).message;
      return { gateName: 'cel-gate', passed: false, blocking: true, message: `${gate.name}: ${gate.message} (the expression could not be evaluated: ${why})`, details: { ...details, error: why } };
    }
  });
}

/** A scanned one-component release, an environment with thresholds and one approval: what a saved expression must evaluate on. */
const SAMPLE: BindingInputs & CelGateContext = {
  release: {
    id: '00000000-0000-4000-8000-000000000001',
    name: 'sample-v1.0.0',
    class: 'standard',
    deprecated: false,
    securityScan: { criticalCount: 0, highCount: 0 },
    components: [{ componentId: '00000000-0000-4000-8000-000000000002', name: 'sample', version: '1.0.0', digest: `sha256:${'0'.repeat(64)}` }],
  },
  environment: { id: '00000000-0000-4000-8000-000000000003', name: 'sample', order: 1, securityThresholds: { maxCritical: 0, maxHigh: 0 }, requireChangeRequest: false },
  approvals: [
    {
      approverId: 'sample-approver',
      approverName: null,
      approverEmail: 'approver@example.com',
      decision: 'approved',
      comment: null,
      approvedAt: '2026-01-05T09:00:00.000Z',
      binding: { digests: {}, securityScan: null, securityThresholds: null, policyId: null, policyVersion: 1 },
      invalidated: null,
    },
  ],
  now: '2026-01-05T10:00:00.000Z',
};

/**
 * Why an expression cannot be a gate, or null: its syntax, or what evaluating it on a sample promotion says (an
 * unknown name, a misspelt field, a type mismatch, an answer that is not a boolean). Checked when a policy is saved.
 */
export function celGateProblem(expression: string): string | null {
  const syntax = celSyntax(expression);
  if (!syntax.ok) return `is not a valid CEL expression: ${syntax.message}`;
  try {
    celCondition(expression, celGateBindings(SAMPLE, SAMPLE));
    return null;
  } catch (error) {
    const message = (error as Error).message;
    const hint = /unresolved attribute/.test(message) ? ` (an expression reads ${Object.keys(celGateBindings(SAMPLE, SAMPLE)).join(', ').replace(/, (\w+)$/, ' and $1')})` : '';
    return `fails on a sample promotion (one scanned component, one approval): ${message}${hint}`;
  }
}
