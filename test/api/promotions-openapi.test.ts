import { startTestApp, type TestApp } from '../support/app';

/** The Stella OpenAPI document covers every promotion, policy and evidence route with the statuses it answers. */
let app: TestApp;
let doc: any;
beforeAll(async () => {
  app = await startTestApp({ worker: false });
  doc = (await app.http('GET', '/api/v1/openapi.json')).body;
});
afterAll(() => app?.close());

const AUTH = ['401', '429', '503'];
const BODY = ['400', '408', '413', '415'];
const COMMAND = ['200', ...BODY, '403', '404', '409', '422', ...AUTH];

/** Every route of the module: method, path, operationId, and the statuses it documents. */
const ROUTES: Array<[string, string, string, string[]]> = [
  ['get', '/promotions', 'listPromotions', ['200', '400', '403', ...AUTH]],
  ['post', '/promotions', 'createPromotion', ['201', ...BODY, '403', '404', '409', '422', ...AUTH]],
  ['get', '/promotions/{id}', 'getPromotion', ['200', '400', '403', '404', ...AUTH]],
  ['post', '/promotions/{id}/approve', 'approvePromotion', COMMAND],
  ['post', '/promotions/{id}/reject', 'rejectPromotion', COMMAND],
  ['post', '/promotions/{id}/cancel', 'cancelPromotion', COMMAND],
  ['post', '/promotions/{id}/reconcile', 'reconcilePromotion', ['200', '400', '403', '404', '409', ...AUTH]],
  ['get', '/promotions/{id}/decision', 'getPromotionDecision', ['200', '400', '403', '404', ...AUTH]],
  ['get', '/promotions/{id}/approvals', 'getPromotionApprovals', ['200', '400', '403', '404', ...AUTH]],
  ['get', '/promotions/{id}/evidence', 'getPromotionEvidence', ['200', '400', '403', '404', ...AUTH]],
  ['post', '/promotions/preview-gates', 'previewPromotionGates', ['200', ...BODY, '403', '404', ...AUTH]],
  ['get', '/my/pending-approvals', 'listMyPendingApprovals', ['200', '400', '403', ...AUTH]],
  ['get', '/evidence/jwks.json', 'getEvidenceJwks', ['200', '429', '503']],
  ['get', '/approval-policies', 'listApprovalPolicies', ['200', '400', '403', ...AUTH]],
  ['post', '/approval-policies', 'createApprovalPolicy', ['201', ...BODY, '403', '409', '422', ...AUTH]],
  ['get', '/approval-policies/{id}', 'getApprovalPolicy', ['200', '400', '403', '404', ...AUTH]],
  ['put', '/approval-policies/{id}', 'updateApprovalPolicy', ['200', ...BODY, '403', '404', '409', '422', ...AUTH]],
  ['delete', '/approval-policies/{id}', 'deleteApprovalPolicy', ['204', '400', '403', '404', ...AUTH]],
];

const operation = (method: string, path: string) => doc.paths[`/api/v1${path}`]?.[method] ?? doc.paths[path]?.[method];

it('documents every route with its operation id and statuses', () => {
  for (const [method, path, operationId, statuses] of ROUTES) {
    const op = operation(method, path);
    if (!op) throw new Error(`${method.toUpperCase()} ${path} is not in the OpenAPI document`);
    expect([path, op.operationId]).toEqual([path, operationId]);
    expect([path, Object.keys(op.responses).sort()]).toEqual([path, [...new Set(statuses)].sort()]);
  }
  const documented = Object.entries(doc.paths)
    .filter(([p]) => /\/(promotions|approval-policies|my\/pending-approvals|evidence\/)/.test(p))
    .flatMap(([p, ops]) => Object.keys(ops as object).filter((m) => m !== 'parameters').map((m) => `${m} ${p.replace(/^\/api\/v1/, '')}`));
  expect(documented.sort()).toEqual(ROUTES.map(([m, p]) => `${m} ${p}`).sort());
});

it('names the error codes a caller meets and the spec’s bodies', () => {
  const approve = operation('post', '/promotions/{id}/approve');
  expect(approve.responses['403'].description).toMatch(/NOT_AN_APPROVER.*SOD_VIOLATION/);
  expect(approve.responses['409'].description).toMatch(/ALREADY_DECIDED.*ALREADY_APPROVED/);
  expect(operation('post', '/promotions').responses['422'].description).toMatch(/PROMOTION_BLOCKED.*ENVIRONMENT_NOT_IN_PIPELINE.*RELEASE_PIPELINES_DIFFER/);
  expect(operation('post', '/promotions/{id}/cancel').responses['403'].description).toMatch(/NOT_ALLOWED_TO_CANCEL/);
  expect(operation('get', '/evidence/jwks.json').security).toEqual([]);

  const schemas = doc.components.schemas;
  expect(Object.keys(schemas.PromotionInput.properties)).toEqual(expect.arrayContaining(['releaseId', 'targetEnvironmentId', 'reason']));
  expect(Object.keys(schemas.ApprovalPolicyInput.properties)).toEqual(
    expect.arrayContaining(['name', 'environmentId', 'requiredApprovals', 'approverGroups', 'requireSeparationOfDuties', 'autoExpireHours']),
  );
  expect(Object.keys(schemas.DecisionRecord.properties)).toEqual(expect.arrayContaining(['promotionId', 'decision', 'decidedAt', 'gates', 'approvals']));
  expect(Object.keys(schemas.EvidencePacket.properties).sort()).toEqual(
    ['content', 'contentHash', 'generatedAt', 'id', 'signature', 'signatureAlgorithm', 'signerKeyRef', 'type', 'version'].sort(),
  );
  // Beside the spec's fields, the preview names the pipeline whose order the order gate read.
  expect(Object.keys(schemas.GatePreview.properties).sort()).toEqual(['gates', 'pipeline', 'wouldPass']);
  expect(schemas.Promotion.properties.status.enum).toEqual(['pending', 'awaiting_approval', 'approved', 'deploying', 'deployed', 'rejected', 'cancelled', 'failed', 'rolled_back']);
});
