import { decide } from '../../domain/changes/commands';
import { assessRisk, withAssessment } from '../../domain/changes/risk';
import { AURORA_EXAMPLE } from '../../test/fixtures/spec-examples';
import { createPool } from '../../platform/db';

/**
 * Rows the reads are measured over: `rows` changes of one tenant, each body a
 * record as the workflow would persist it (the spec's Aurora example through
 * the domain's create rule and risk model), so the JSON served is the size a
 * real list serves. Written by SQL in one statement per batch, then vacuumed
 * and analysed as autovacuum would leave a table in steady state.
 */
export async function seedChanges(databaseUrl: string, tenantId: string, rows: number, say: (msg: string) => void): Promise<string[]> {
  const now = new Date().toISOString();
  const input = { ...AURORA_EXAMPLE, scheduled_start: '2030-01-01T01:00:00.000Z', scheduled_end: '2030-01-01T03:00:00.000Z', ci_id: 'CI0000001', risk: 'medium' } as const;
  const created = decide(undefined, { kind: 'create', input }, {
    now,
    number: 1,
    settings: { reviewDeadlineMs: 86_400_000, defaultCabQuorum: 1 },
    actor: { userId: 'alice@example.com', email: 'alice@example.com', permissions: ['change:create'] },
  }).next;
  const template = withAssessment(created, assessRisk({ ...created, conflictIds: [], groupHistory: { completed: 0, failed: 0 } }, now), []);

  const pool = createPool(databaseUrl, 1);
  try {
    const batch = 10_000;
    for (let from = 1; from <= rows; from += batch) {
      const to = Math.min(rows, from + batch - 1);
      // Vary what lists filter and sort on; created_at steps back one minute per change so "newest first" is a real ordering.
      await pool.query(
        `WITH g AS (
           SELECT n, 'CHG' || lpad(n::text, 7, '0') AS id,
                  (ARRAY['normal','standard','emergency'])[1 + n % 3] AS type,
                  (ARRAY['draft','submitted','cab_review','scheduled','in_progress','completed','closed','cancelled'])[1 + n % 8] AS state,
                  (ARRAY['low','medium','high','critical'])[1 + n % 4] AS risk_level,
                  20 + n % 70 AS risk_score,
                  'group-' || (n % 20) AS assignment_group,
                  'CI' || lpad((n % 500)::text, 7, '0') AS ci_id,
                  $4::timestamptz - n * interval '1 minute' AS at
             FROM generate_series($2::int, $3::int) AS n)
         INSERT INTO changes (tenant_id, id, number, version, type, state, short_description, description, risk, risk_score, risk_level,
                              implementation_plan, backout_plan, test_plan, assignment_group, ci_id, scheduled_start, scheduled_end,
                              requested_by, created_at, updated_at, body)
         SELECT $1, g.id, g.n, 1, g.type, g.state, $5 || ' #' || g.n, $6, 'medium', g.risk_score, g.risk_level, $7, $8, $9,
                g.assignment_group, g.ci_id, $10::timestamptz, $11::timestamptz, 'alice@example.com', g.at, g.at,
                ($12::jsonb || jsonb_build_object(
                   'id', g.id, 'number', g.n, 'type', g.type, 'state', g.state, 'short_description', $5 || ' #' || g.n,
                   'risk_score', g.risk_score, 'risk_level', g.risk_level, 'assignment_group', g.assignment_group, 'ci_id', g.ci_id,
                   'created_at', to_char(g.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                   'updated_at', to_char(g.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))::json
           FROM g`,
        [
          tenantId, from, to, now, template.short_description, template.description, template.implementation_plan, template.backout_plan,
          template.test_plan, template.scheduled_start, template.scheduled_end, JSON.stringify(template),
        ],
      );
      if (rows > batch) say(`seeded ${to}/${rows} changes`);
    }
    await pool.query('VACUUM ANALYZE changes');
    const { rows: ids } = await pool.query<{ id: string }>('SELECT id FROM changes WHERE tenant_id = $1 ORDER BY random() LIMIT 1000', [tenantId]);
    return ids.map((r) => r.id);
  } finally {
    await pool.end();
  }
}

/** The size of one served record, for the report. */
export async function bodyBytes(databaseUrl: string, tenantId: string): Promise<number> {
  const pool = createPool(databaseUrl, 1);
  try {
    const { rows } = await pool.query<{ n: number }>('SELECT octet_length(body::text) AS n FROM changes WHERE tenant_id = $1 LIMIT 1', [tenantId]);
    return rows[0]?.n ?? 0;
  } finally {
    await pool.end();
  }
}
