import type { GateInputs, GateResult } from './model';

/**
 * An approval policy's external checks: each names an http-gate integration
 * (a change-freeze service, an SLO budget endpoint) that must answer with one
 * of its expected statuses, or an instance of a plugin implementing http-gate
 * whose `check` must answer ok. The calls are made where the gate inputs are
 * gathered (an activity, or the API's preview), with the integration's secrets
 * read there; the inputs carry only what each call found, so this evaluator
 * stays pure and a replay sees the answers the promotion saw.
 */
export interface HttpGate {
  name: string;
  /** The http-gate integration called; absent when the gate names a plugin instance (exactly one of the two). */
  integrationId?: string;
  /** The plugin instance whose `check` is called; absent on gates saved before plugins could be gates. */
  pluginInstanceId?: string;
  /** What the gate asks for, shown when it fails: what would unblock it (null: the service must answer OK). */
  message: string | null;
  /** A failing blocking gate stops the promotion; a non-blocking one is listed as failed and lets it go on. */
  blocking: boolean;
}

/** What one call of an http gate found. */
export interface HttpGateCheck {
  name: string;
  integrationId?: string;
  /** A plugin gate's: the instance called and its plugin (null: the instance was not found). Checks recorded before plugins could be gates have neither. */
  pluginInstanceId?: string;
  pluginId?: string | null;
  /** The integration's (or plugin instance's) name when it was found. */
  integrationName: string | null;
  passed: boolean;
  /** The status the service answered (null: no answer, no call was made, or a plugin that said none). */
  status: number | null;
  /** Why it did not pass: the status and what was expected, a timeout, a refused connection, a missing integration. */
  reason: string | null;
  checkedAt: string;
}

/** The policy's http gates in its order; none (and nothing added to the results) when it has none. */
export function evaluateHttpGates(inputs: Pick<GateInputs, 'policy' | 'httpGateChecks'>): GateResult[] {
  const gates = inputs.policy.httpGates ?? [];
  if (gates.length === 0) return [];
  const checks = new Map((inputs.httpGateChecks ?? []).map((c) => [c.name, c]));
  return gates.map((gate) => {
    const blocking = gate.blocking;
    const check = checks.get(gate.name);
    const asks = gate.message ? `: ${gate.message}` : '';
    const target = targetOf(gate, check);
    if (!check) {
      // Fail closed: inputs gathered without calling the service cannot say it is OK.
      const details = { name: gate.name, ...target, status: null, reason: 'not checked', checkedAt: null };
      return { gateName: 'http-gate', passed: false, blocking, message: `${gate.name}${asks} (the service was not checked)`, details };
    }
    const details = { name: gate.name, ...target, integrationName: check.integrationName, status: check.status, reason: check.reason, checkedAt: check.checkedAt };
    const service = gate.pluginInstanceId ? `plugin ${check.pluginId ?? '?'} (${check.integrationName ?? gate.pluginInstanceId})` : (check.integrationName ?? gate.integrationId);
    if (check.passed) {
      const said = gate.pluginInstanceId && check.status === null ? 'passed' : `answered ${check.status}`;
      return { gateName: 'http-gate', passed: true, blocking: false, message: `${gate.name}: ${service} ${said}`, details };
    }
    const unblock = gate.message ? `: ${gate.message}` : `: ${service} must answer OK`;
    return { gateName: 'http-gate', passed: false, blocking, message: `${gate.name}${unblock} (${check.reason ?? 'it did not pass'})`, details };
  });
}

/** What a result names as the gate's target: the integration, as results always did, or the plugin instance and its plugin. */
function targetOf(gate: HttpGate, check: HttpGateCheck | undefined): { integrationId?: string } | { pluginInstanceId: string; pluginId: string | null } {
  if (gate.pluginInstanceId) return { pluginInstanceId: gate.pluginInstanceId, pluginId: check?.pluginId ?? null };
  return { integrationId: gate.integrationId };
}
