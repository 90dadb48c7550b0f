import { createRoute, z } from '@hono/zod-openapi';
import { createAuditReportSchema } from '../../../domain/evidence/requests';
import { AUDIT_REPORT_FORMATS } from '../../../domain/evidence/model';
import { BODY_ERRORS, envelope, errorResponses, idempotencyKeyHeader, jsonBody, linksToResource } from '../../openapi-helpers';
import { AuditReportSchema, IdParam } from './audit-reports.responses';

/** RELEVI: audit reports of environments over a period, gathered and verified by a workflow, served as signed JSON and PDF. */

const tags = ['Release evidence'];
const REPORT_404 = 'No audit report with this id in your tenant (`AUDIT_REPORT_NOT_FOUND`)';

export const createReportRoute = createRoute({
  method: 'post',
  path: '/audit-reports',
  operationId: 'createAuditReport',
  tags,
  summary: 'Ask for an audit report of environments over a period (asynchronous)',
  description:
    'Answers 202 with the report queued; poll GET /audit-reports/{id} until it is ready, then download it as PDF or JSON. The report lists the promotions into the ' +
    'environments requested in the period (of one release, with releaseId), their gates and approvals, the deployment jobs, the changes they name and the incidents raised ' +
    'against those changes, and re-verifies every evidence packet, flagging each whose signature fails and each decision with no packet.',
  request: { headers: idempotencyKeyHeader, ...jsonBody(createAuditReportSchema) },
  responses: {
    202: {
      description: 'The report, queued',
      headers: { Location: { description: 'The report', schema: { type: 'string' } } },
      content: { 'application/json': { schema: envelope(AuditReportSchema) } },
      links: linksToResource(['getAuditReport', 'downloadAuditReport']),
    },
    ...errorResponses([...BODY_ERRORS, 403, 404, 422], {
      404: 'An environment or the release does not exist in your tenant (`ENVIRONMENT_NOT_FOUND`, `RELEASE_NOT_FOUND`)',
      422: 'The Idempotency-Key was used for another request (`IDEMPOTENCY_KEY_REUSED`)',
    }),
  },
});

export const getReportRoute = createRoute({
  method: 'get',
  path: '/audit-reports/{id}',
  operationId: 'getAuditReport',
  tags,
  summary: 'An audit report’s progress, summary and, once ready, its signed manifest',
  request: { params: IdParam },
  responses: {
    200: { description: 'The report', content: { 'application/json': { schema: envelope(AuditReportSchema) } } },
    ...errorResponses([400, 403, 404], { 404: REPORT_404 }),
  },
});

export const downloadReportRoute = createRoute({
  method: 'get',
  path: '/audit-reports/{id}/download',
  operationId: 'downloadAuditReport',
  tags,
  summary: 'The report as a file: ?format=pdf (default) or json',
  request: {
    params: IdParam,
    query: z.object({ format: z.enum(AUDIT_REPORT_FORMATS).optional().openapi({ description: 'pdf (default) or json' }) }),
  },
  responses: {
    200: {
      description: 'The file; its sha256 is in the signed manifest of GET /audit-reports/{id}',
      headers: {
        'Content-Disposition': { description: 'attachment; filename="audit-report-<id>.pdf|json"', schema: { type: 'string' } },
        'X-Report-Sha256': { description: 'sha256 of the file (hex), as the signed manifest states it', schema: { type: 'string' } },
      },
      content: {
        'application/pdf': { schema: z.string().openapi({ format: 'binary' }) },
        'application/json': { schema: z.record(z.string(), z.unknown()).openapi({ description: 'The report document' }) },
      },
    },
    ...errorResponses([400, 403, 404, 409], { 404: REPORT_404, 409: 'The report is not ready yet, or failed (`AUDIT_REPORT_NOT_READY`, details.status)' }),
  },
});
