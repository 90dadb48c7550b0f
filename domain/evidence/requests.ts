import { z } from 'zod';
import { acrossFields } from '../cross-field';
import { instant } from '../instant';

/** Request bodies of the release-evidence module. */

/** Environments one report may cover: each adds its promotions, jobs, changes and incidents to one document. */
export const MAX_REPORT_ENVIRONMENTS = 20;
/** The longest period one report covers. */
export const MAX_REPORT_DAYS = 400;
const DAY_MS = 24 * 60 * 60 * 1000;

export const auditReportScopeSchema = z
  .object({
    environmentIds: z
      .array(z.uuid())
      .min(1, { message: 'name at least one environment' })
      .max(MAX_REPORT_ENVIRONMENTS)
      .refine((ids) => new Set(ids.map((id) => id.toLowerCase())).size === ids.length, { message: 'must not name an environment twice' })
      .meta({ uniqueItems: true }),
    from: instant().meta({ description: 'Start of the period (inclusive): promotions requested at or after it' }),
    to: instant().meta({ description: 'End of the period (exclusive)' }),
    releaseId: z.uuid().nullable().optional().meta({ description: 'Only this release’s promotions and jobs' }),
  })
  .strict()
  .superRefine((scope, ctx) => {
    const span = Date.parse(scope.to) - Date.parse(scope.from);
    if (span <= 0) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from', params: { code: 'invalid_period' } });
    else if (span > MAX_REPORT_DAYS * DAY_MS) ctx.addIssue({ code: 'custom', path: ['to'], message: `the period may span at most ${MAX_REPORT_DAYS} days`, params: { code: 'period_too_long' } });
  }, acrossFields('from', 'to'));

export const createAuditReportSchema = z
  .object({ scope: auditReportScopeSchema })
  .strict()
  .meta({
    id: 'AuditReportCreate',
    example: { scope: { environmentIds: ['8d5e2c1a-3b4f-4c6d-9e8f-0a1b2c3d4e5f'], from: '2026-01-01T00:00:00Z', to: '2026-04-01T00:00:00Z' } },
  });

export type AuditReportScope = z.infer<typeof auditReportScopeSchema>;
export type CreateAuditReportInput = z.infer<typeof createAuditReportSchema>;
