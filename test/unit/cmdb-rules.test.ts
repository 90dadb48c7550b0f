import { assessRisk, BLAST_RADIUS_WEIGHTS, RISK_WEIGHTS, type RiskInput } from '../../domain/changes/risk';
import { attributeIssues, CI_CLASSES } from '../../domain/cmdb/classes';
import { applyCiPatch, CiValidationError } from '../../domain/cmdb/patch';
import type { ConfigurationItem } from '../../domain/cmdb/model';
import { createCiSchema } from '../../domain/cmdb/requests';

/** The CMDB's pure rules: attributes per class, a PATCH's merge, and the blast-radius factor of a change's risk. */

test('every class has its schema, and each refuses an unknown attribute naming the known ones', () => {
  expect(CI_CLASSES).toEqual(expect.arrayContaining(['service', 'application', 'database', 'host', 'queue', 'network', 'storage']));
  for (const ciClass of CI_CLASSES) {
    const [issue] = attributeIssues(ciClass, { colour: 'blue' });
    expect(issue).toMatchObject({ field: 'attributes.colour', code: 'unknown_field', message: expect.stringContaining('(known: ') });
  }
});

test.each([
  ['database', { engine: 'postgres', port: 5432, replicas: 2 }, []],
  ['database', { engine: 'db2', port: 0 }, ['attributes.engine', 'attributes.port']],
  ['host', { ip: '10.0.0.1', cpus: 8 }, []],
  ['host', { ip: '999.1.1.1' }, ['attributes.ip']],
  ['network', { cidr: '10.0.0.0/16', vlan: 12 }, []],
  ['network', { cidr: '10.0.0.0', vlan: 5000 }, ['attributes.cidr', 'attributes.vlan']],
  ['service', { tier: 4, url: 'nope' }, ['attributes.tier', 'attributes.url']],
] as const)('%s %j: issues on %j', (ciClass, attributes, fields) => {
  expect(attributeIssues(ciClass, attributes).map((i) => i.field).sort()).toEqual([...fields].sort());
});

test('a create body reports the class’s attribute issues with its other problems at once', () => {
  const parsed = createCiSchema.safeParse({ name: '', class: 'queue', attributes: { partitions: -1 } });
  expect(parsed.success).toBe(false);
  expect(parsed.error!.issues.map((i) => i.path.join('.')).sort()).toEqual(['attributes.partitions', 'name']);
});

const CI: ConfigurationItem = {
  id: 'CI0000001',
  name: 'web-1',
  class: 'host',
  environment: 'production',
  owner_group: 'SRE',
  lifecycle_state: 'operational',
  description: null,
  attributes: { hostname: 'web-1', cpus: 4 },
  created_by: 'a',
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
  version: 1,
};

test('a PATCH merges attributes, null removes one, and the result must fit the class it ends with', () => {
  const next = applyCiPatch(CI, { attributes: { cpus: 8, hostname: null }, environment: null }, '2026-02-01T00:00:00.000Z');
  expect(next).toMatchObject({ attributes: { cpus: 8 }, environment: null, owner_group: 'SRE', version: 2, updated_at: '2026-02-01T00:00:00.000Z' });
  let error: unknown;
  try {
    applyCiPatch(CI, { class: 'queue' }, '2026-02-01T00:00:00.000Z');
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(CiValidationError);
  expect((error as CiValidationError).issues.map((i) => i.field).sort()).toEqual(['attributes.cpus', 'attributes.hostname']);
});

const CHANGE: RiskInput = {
  type: 'normal',
  short_description: 'Resize the web tier',
  description: null,
  implementation_plan: null,
  backout_plan: null,
  test_plan: null,
  ci_id: 'CI0000001',
  assignment_group: null,
  scheduled_start: null,
  scheduled_end: null,
  conflictIds: [],
  groupHistory: { completed: 0, failed: 0 },
};
const NOW = '2026-05-19T10:00:00.000Z';

test('without a CMDB CI the factors and weights are those of the model before the CMDB', () => {
  const a = assessRisk(CHANGE, NOW);
  expect(a.factors.map((f) => f.weight)).toEqual(Object.values(RISK_WEIGHTS));
});

test.each([
  [0, 0, 0],
  [2, 2, 30],
  [9, 3, 60],
  [24, 5, 80],
  [25, 5, 100],
])('%i dependants (%i direct) score %i, weighted 0.10 out of impact’s share', (dependants, direct, score) => {
  const a = assessRisk({ ...CHANGE, blastRadius: { dependants, direct } }, NOW);
  const factor = a.factors.find((f) => f.factor.startsWith('Blast radius'))!;
  expect(factor).toMatchObject({ weight: BLAST_RADIUS_WEIGHTS.blast_radius, score });
  expect(a.factors[0].weight).toBe(BLAST_RADIUS_WEIGHTS.impact);
  expect(a.factors.reduce((s, f) => s + f.weight, 0)).toBeCloseTo(1, 9);
  expect(Math.abs(a.factors.reduce((s, f) => s + f.weight * f.score, 0) - a.risk_score)).toBeLessThanOrEqual(0.5);
});
