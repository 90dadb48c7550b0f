import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { TemplateSpec } from '../../../domain/templates/model';
import { validateTemplate } from '../../../domain/templates/validate';
import { addTemplateVersion, insertTemplate, markTemplateDeleted, presentTemplateRow } from '../../../store/workflow-templates';
import type { AppEnv } from '../../context';
import { auditedWrite } from '../../entity-writes';
import { Unprocessable } from '../../errors';

/**
 * The API's writes of templates, each with its audit entry in one
 * transaction. A body is judged whole before anything is written: a template
 * with any problem is refused (422 TEMPLATE_INVALID listing them all) and
 * nothing is saved, so every stored version can be run.
 */

type C = Context<AppEnv>;
const DUPLICATE = { '*': 'A workflow template with this name already exists' };

/** The template as it will be stored, or the 422 that lists every problem. */
export function soundTemplate(body: unknown): TemplateSpec {
  const result = validateTemplate(body);
  if (result.ok) return result.spec;
  const count = result.problems.length;
  throw new Unprocessable(`The template has ${count} problem${count === 1 ? '' : 's'}; details.problems lists each with its node and field`, 'TEMPLATE_INVALID', {
    problems: result.problems,
  });
}

export async function createTemplate(c: C, tenantId: string, userId: string, body: unknown): Promise<string> {
  const spec = soundTemplate(body);
  const id = randomUUID();
  await auditedWrite(
    c,
    async (db) => {
      await insertTemplate(db, tenantId, id, spec, userId);
      return { result: id, audit: { action: 'workflow_template.create', resourceType: 'workflow_template', resourceId: id, after: { version: 1, spec } } };
    },
    { unique: DUPLICATE },
  );
  return id;
}

/** The body becomes the next version; answers it. */
export async function updateTemplate(c: C, tenantId: string, userId: string, id: string, body: unknown): Promise<number> {
  const spec = soundTemplate(body);
  return auditedWrite(
    c,
    async (db) => {
      const added = await addTemplateVersion(db, tenantId, id, spec, userId);
      if (!added) return undefined;
      return {
        result: added.version,
        audit: { action: 'workflow_template.update', resourceType: 'workflow_template', resourceId: id, before: presentTemplateRow(added.before), after: { version: added.version, spec } },
      };
    },
    { unique: DUPLICATE, notFound: `Workflow template ${id} not found` },
  );
}

export async function deleteTemplate(c: C, tenantId: string, id: string): Promise<void> {
  await auditedWrite(
    c,
    async (db) => {
      const before = await markTemplateDeleted(db, tenantId, id);
      if (!before) return undefined;
      return { result: id, audit: { action: 'workflow_template.delete', resourceType: 'workflow_template', resourceId: id, before: presentTemplateRow(before) } };
    },
    { notFound: `Workflow template ${id} not found` },
  );
}
