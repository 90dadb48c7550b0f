import { z } from '@hono/zod-openapi';
import { AUDIT_REPORT_STATUSES } from '../../../domain/evidence/model';

/** What the audit-report routes answer (Stella: camelCase). */

const FileSchema = z.object({ sha256: z.string(), size: z.number().int() });

export const AuditReportSchema = z
  .object({
    id: z.string(),
    status: z.enum(AUDIT_REPORT_STATUSES).openapi({ description: 'queued, then gathering, verifying, rendering, and ready (or failed, with error)' }),
    scope: z.object({
      environmentIds: z.array(z.string()),
      from: z.string(),
      to: z.string(),
      releaseId: z.string().nullable(),
    }),
    progress: z
      .object({
        step: z.enum(AUDIT_REPORT_STATUSES),
        promotions: z.number().int().optional(),
        packets: z.number().int().optional(),
        flagged: z.number().int().optional(),
      })
      .openapi({ description: 'The step running and what it has counted so far' }),
    summary: z
      .object({
        promotions: z.number().int(),
        approvals: z.number().int(),
        failedGates: z.number().int(),
        deploymentJobs: z.number().int(),
        changes: z.number().int(),
        incidents: z.number().int(),
        packets: z.number().int(),
        packetsVerified: z.number().int(),
        packetsFailed: z.number().int(),
        packetsMissing: z.number().int(),
      })
      .nullable()
      .openapi({ description: 'Counts of what was gathered; verdicts once the packets are verified' }),
    signature: z
      .object({
        id: z.string(),
        type: z.literal('audit_report'),
        version: z.literal('1.1'),
        content: z.object({ tenantId: z.string(), reportId: z.string(), scope: z.unknown(), summary: z.unknown(), files: z.object({ json: FileSchema, pdf: FileSchema }) }),
        contentHash: z.string(),
        signature: z.string(),
        signatureAlgorithm: z.literal('ECDSA-P256-SHA256'),
        signerKeyRef: z.string(),
        generatedAt: z.string(),
      })
      .nullable()
      .openapi({
        description:
          'Once ready: the signed manifest of both files (their sha256 and size), in the evidence packets’ format, signed with the evidence key: save it and run `npm run verify-evidence -- <file>`',
      }),
    downloads: z.object({ json: z.string(), pdf: z.string() }).nullable(),
    error: z.string().nullable(),
    requestedBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    completedAt: z.string().nullable(),
  })
  .openapi('AuditReport');

export const IdParam = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });
