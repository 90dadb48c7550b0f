import { clearPromotionDeploy } from '../../domain/promotions/promotion-deploy';
import type { GateInputs, Promotion } from '../../domain/promotions/model';
import { gateInputs } from './promotion-fixtures';

/** Who may deploy a promotion outside its own workflow (a template's deploy step): approved, done with, and cleared now. */
const NOW = '2026-11-23T10:00:00.000Z';
const FREEZE = { windowId: 'w-1', name: 'Black Friday', reason: 'peak traffic', start: '2026-11-23T00:00:00.000Z', end: '2026-11-24T00:00:00.000Z' };
const promotion = (extra: Partial<Promotion> = {}): Promotion =>
  ({
    id: 'p-1',
    releaseName: 'myapp-v2',
    targetEnvironmentName: 'Production',
    status: 'deployed',
    decision: 'allow',
    requestedBy: 'dev',
    requestedByEmail: 'dev@example.com',
    approvals: [],
    ...extra,
  }) as Promotion;
const inputs = (extra: Partial<GateInputs> = {}) => gateInputs(extra);

it('refuses a promotion never approved for its environment, naming its status', () => {
  const refused = clearPromotionDeploy(promotion({ status: 'rejected', decision: 'deny' }), inputs(), NOW);
  expect(refused).toMatchObject({ ok: false, error: { kind: 'rule', code: 'PROMOTION_NOT_APPROVED', message: 'Promotion p-1 (myapp-v2 → Production) is rejected: it was never approved for Production, so it cannot be deployed' } });
});

it('refuses one its own workflow is still deploying', () => {
  expect(clearPromotionDeploy(promotion({ status: 'deploying' }), inputs(), NOW)).toMatchObject({ ok: false, error: { code: 'PROMOTION_IN_FLIGHT' } });
});

it('meets the clearance every deploy meets: a freeze refuses it, a clean environment clears it', () => {
  expect(clearPromotionDeploy(promotion(), inputs({ freeze: { active: FREEZE, next: null } }), NOW)).toMatchObject({ ok: false, error: { code: 'FREEZE_ACTIVE', details: { until: FREEZE.end } } });
  expect(clearPromotionDeploy(promotion(), inputs(), NOW)).toEqual({ ok: true });
  expect(clearPromotionDeploy(promotion({ status: 'rolled_back' }), inputs(), NOW)).toEqual({ ok: true });
});
