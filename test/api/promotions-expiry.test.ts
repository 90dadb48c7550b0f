import { verifyEvidence } from '../../platform/evidence';
import { startTestApp, type TestApp } from '../support/app';
import { approve, awaiting, reaches, scene, stage } from '../support/promotion-scene';

/** A policy's autoExpireHours is a durable timer; PROMOTION_EXPIRY_HOUR=1s makes an "hour" a second here. */
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ env: { PROMOTION_EXPIRY_HOUR: '1s' } });
});
afterAll(() => app?.close());

it('cancels an unapproved promotion when its approval expires, says so in the decision record, and signs an expired packet', async () => {
  const s = await scene(app);
  const st = await stage(s, { policy: { requiredApprovals: 2, approverGroups: ['sre-team'], requireSeparationOfDuties: true, autoExpireHours: 10 } });
  const p = await awaiting(s, await s.token('dev@example.com', { roles: ['developer'] }), st);
  expect(Date.parse(p.expiresAt) - Date.parse(p.requestedAt)).toBe(10_000);
  expect((await approve(s, p.id, await s.member('sre1@example.com', 'sre-team'))).body.data).toMatchObject({ approvalCount: 1 });

  const expired = await reaches(s, p.id, 'cancelled', undefined, 40_000);
  expect(expired).toMatchObject({ statusReason: 'approval_expired', decision: 'deny', approvalCount: 1 });
  expect(Date.parse(expired.decidedAt)).toBeGreaterThanOrEqual(Date.parse(p.expiresAt));
  const decision = await s.expect(200, 'GET', `/promotions/${p.id}/decision`);
  expect(decision).toMatchObject({ promotionId: p.id, decision: 'deny', status: 'cancelled', statusReason: 'approval_expired', decidedAt: expired.decidedAt });
  expect(decision.approvals.map((a: any) => a.approverId)).toEqual(['sre1@example.com']);

  const packet = await s.expect(200, 'GET', `/promotions/${p.id}/evidence?decision=expired`);
  expect(packet.content).toMatchObject({ decision: 'expired', status: 'cancelled', statusReason: 'approval_expired', approvalCount: 1 });
  expect(await verifyEvidence(packet, await s.expect(200, 'GET', '/evidence/jwks.json'))).toMatchObject({ valid: true });

  const late = await s.refuse(409, 'POST', `/promotions/${p.id}/approve`, await s.member('sre2@example.com', 'sre-team'), {});
  expect(late.code).toBe('ALREADY_DECIDED');
  const { rows } = await app.pool.query(`SELECT action FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 ORDER BY id`, [s.tenant, p.id]);
  expect(rows.map((r) => r.action)).toContain('promotion.expire');
});
