import { randomUUID } from 'node:crypto';
import { createActivities, type Activities } from '../../activities';
import type { Actor } from '../../domain/actor';
import { decide } from '../../domain/changes/commands';
import type { Change, ChangeDecision } from '../../domain/changes/model';
import type { ChangeCommand } from '../../domain/changes/requests';
import { withAssessedDecision } from '../../domain/changes/risk';
import { permissionsFor } from '../../domain/permissions';
import { loadConfig } from '../../platform/config';
import { createPool, type Pool } from '../../platform/db';
import { createLogger } from '../../platform/logger';
import { AURORA_EXAMPLE } from '../fixtures/spec-examples';
import { testEnv } from '../support/env';

/**
 * The change persistence activity, called as the worker registers it: the row,
 * the risk history and one audit row per event of each version, written once
 * however often Temporal retries the activity, and never rolled back by a late
 * attempt of an older version.
 */
let pool: Pool;
let acts: Activities;
const tenant = `t-${randomUUID().slice(0, 8)}`;
const actor: Actor = { userId: 'alice', email: 'alice@example.com', permissions: permissionsFor(['engineer']) };
const settings = { reviewDeadlineMs: 86_400_000, defaultCabQuorum: 1 };

beforeAll(() => {
  pool = createPool(testEnv.databaseUrl, 2);
  const config = loadConfig({ DATABASE_URL: testEnv.databaseUrl, DATA_DIR: testEnv.dataDir, AUTH_JWKS: '{"keys":[]}' });
  acts = createActivities({ pool, config, log: createLogger('test', 'silent') });
});

afterAll(async () => {
  await pool?.end();
});

async function commit(current: Change | undefined, command: ChangeCommand, now: string, extra: ChangeDecision['events'] = []): Promise<{ decision: ChangeDecision; written: boolean[] }> {
  let decision = decide(current, command, { now, settings, actor, number: 7 });
  if (decision.rescore) {
    const { assessment, conflicts } = await acts.assessChangeRisk({ tenantId: tenant, change: decision.next, now });
    decision = withAssessedDecision(decision, assessment, conflicts);
  }
  decision = { ...decision, events: [...decision.events, ...extra] };
  const input = { tenantId: tenant, change: decision.next, events: [...decision.events], actor, requestId: 'req-1', assessed: decision.rescore };
  // A retried attempt, as Temporal sends it after a lost answer.
  const written = [(await acts.persistChange(input)).written, (await acts.persistChange(input)).written];
  return { decision, written };
}

test('each version is written once with its risk row and one audit row per event, in order; a late older version changes nothing', async () => {
  const created = await commit(undefined, { kind: 'create', input: { ...AURORA_EXAMPLE, short_description: 'Persist me' } }, '2026-01-01T10:00:00.000Z');
  expect(created.written).toEqual([true, false]);
  const id = created.decision.next.id;
  const edited = await commit(created.decision.next, { kind: 'patch', input: { description: 'Edited "quoted" \\ text', risk: 'high' } }, '2026-01-01T10:05:00.000Z', [
    // A version with several events keeps them in order, text with quotes and braces as it was.
    { action: 'change.note', before: null, after: { text: 'a "quoted" {brace}' } },
    { action: 'change.other', before: { a: null }, after: { list: [1, 2], back: '\\' } },
  ]);
  expect(edited.written).toEqual([true, false]);

  const { rows: [row] } = await pool.query('SELECT version, description, risk FROM changes WHERE tenant_id = $1 AND id = $2', [tenant, id]);
  expect(row).toEqual({ version: 2, description: 'Edited "quoted" \\ text', risk: 'high' });
  const { rows: risk } = await pool.query('SELECT change_version FROM change_risk_assessments WHERE tenant_id = $1 AND change_id = $2 ORDER BY change_version', [tenant, id]);
  expect(risk.map((r) => r.change_version)).toEqual([1, 2]);
  const { rows: audit } = await pool.query(
    `SELECT actor, action, before, after, request_id, dedupe_key, occurred_at FROM audit_log WHERE tenant_id = $1 AND resource_type = 'change' AND resource_id = $2 ORDER BY id`,
    [tenant, id],
  );
  const expected = [created.decision, edited.decision].flatMap((d) =>
    d.events.map((e, i) => ({
      actor: 'alice@example.com',
      action: e.action,
      before: e.before === undefined ? null : JSON.parse(JSON.stringify(e.before)),
      after: e.after === undefined ? null : JSON.parse(JSON.stringify(e.after)),
      request_id: 'req-1',
      dedupe_key: `change:${tenant}:${id}:${d.next.version}:${i}`,
      occurred_at: new Date(d.next.updated_at),
    })),
  );
  expect(expected.length).toBeGreaterThan(3);
  expect(audit).toEqual(expected);

  // The first version arriving late (a stale retry) neither rolls the row back nor adds rows.
  const late = await acts.persistChange({ tenantId: tenant, change: created.decision.next, events: [...created.decision.events], actor, assessed: true });
  expect(late.written).toBe(false);
  const { rows: after } = await pool.query('SELECT version FROM changes WHERE tenant_id = $1 AND id = $2', [tenant, id]);
  expect(after[0].version).toBe(2);
  const { rows: count } = await pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE tenant_id = $1 AND resource_id = $2`, [tenant, id]);
  expect(count[0].n).toBe(expected.length);
});
