import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { UpdateDefinition } from '@temporalio/common';
import type { CommandMeta } from '../../../domain/actor';
import type { RunNode, WorkflowRun } from '../../../domain/templates/model';
import { pendingRunNodes } from '../../../domain/templates/run-nodes';
import { resolveParameters } from '../../../domain/templates/parameters';
import { validateTemplate } from '../../../domain/templates/validate';
import { missingStepPermissions } from '../../../domain/templates/step-permissions';
import { hasPermission, rolesGranting } from '../../../domain/permissions';
import type { CreateRunBody } from '../../../domain/templates/run-requests';
import { workflowId } from '../../../domain/workflow-ids';
import { templateRunTitle } from '../../../domain/workflow-titles';
import { recordEntityEvents } from '../../../platform/audit';
import { withTransaction } from '../../../platform/db';
import { notifyWorkflowRun } from '../../realtime/workflow-run-events';
import { searchAttributesOf, TEMPLATE_RUN_WORKFLOW_TYPE, type TemplateRunInput } from '../../../workflows/template-runs/messages';
import type { AppEnv } from '../../context';
import { Conflict, Forbidden, NotFound, Unprocessable, ValidationFailed } from '../../errors';
import { endedOutsideConflict } from '../../ended-outside';
import { useIdempotencyKey } from '../../idempotency';
import { principalOf } from '../../principal';
import { sendUpdate, withinCommandTimeout } from '../../workflow-commands';
import { findRun } from './workflow-runs.queries';
import { findTemplate } from '../../../store/workflow-templates';

/** Starts runs and sends them commands; after the first row, the run's workflow writes it. */

const KEY_SCOPE = 'workflow-run';

/**
 * POST /workflow-runs: the template version the run keeps, checked again (the
 * rules may have moved since it was saved), the parameters checked against it,
 * then the row (running, every node pending) and the workflow in one go: the
 * row is committed only once the workflow has started, so no run shows that
 * nothing runs. A keyed retry answers the first run.
 */
export async function createRun(c: Context<AppEnv>, body: CreateRunBody): Promise<WorkflowRun> {
  const { tenantId, userId, email } = principalOf(c);
  const { pool, config, temporal } = c.get('deps');
  const stored = await findTemplate(pool, tenantId, body.templateId, body.version);
  if (!stored) {
    if (body.version !== undefined && (await findTemplate(pool, tenantId, body.templateId))) {
      throw new NotFound(`Template ${body.templateId} has no version ${body.version}`, 'TEMPLATE_VERSION_NOT_FOUND');
    }
    throw new NotFound(`Template ${body.templateId} not found`, 'TEMPLATE_NOT_FOUND');
  }
  // Saved valid, but the rules (step types, their inputs, CEL) may have moved since: a run starts only from a version that still validates.
  const validated = validateTemplate(stored.spec);
  if (!validated.ok) {
    throw new Unprocessable(`Template ${stored.name} version ${stored.version} no longer validates; fix it and run the new version`, 'TEMPLATE_INVALID', {
      templateId: stored.id,
      version: stored.version,
      problems: validated.problems,
    });
  }
  const template = { ...stored, spec: validated.spec };
  const principal = principalOf(c);
  const missing = missingStepPermissions(template.spec, (permission) => hasPermission(principal, permission));
  if (missing.length) {
    const required = [...new Set(missing.map((m) => m.permission))];
    throw new Forbidden(`Steps of template ${template.name} act as you and need ${required.join(', ')}, which you do not hold (roles that do: ${rolesGranting(...required).join(', ')})`, 'STEP_NOT_PERMITTED', {
      required,
      nodes: missing,
      roles: principal.roles,
    });
  }
  const parameters = resolveParameters(template.spec.parameters, body.parameters);
  if (!parameters.ok) throw new ValidationFailed(parameters.problems, `The parameters do not match template ${template.name}`);

  const keyed = await useIdempotencyKey(c, { scope: KEY_SCOPE, operation: 'create', body }, async () => randomUUID());
  if (keyed?.outcome) return keyed.outcome as WorkflowRun;
  const id = keyed?.resource ?? randomUUID();
  const now = new Date().toISOString();
  const run: WorkflowRun = {
    id,
    tenantId,
    templateId: template.id,
    templateName: template.name,
    templateVersion: template.version,
    parameters: parameters.parameters,
    status: 'running',
    nodes: pendingRunNodes(template.spec),
    requestedBy: userId,
    ...(email ? { requestedByEmail: email } : {}),
    createdAt: now,
    updatedAt: now,
    endedAt: null,
    version: 1,
  };
  const input: TemplateRunInput = {
    tenantId,
    runId: id,
    templateId: template.id,
    templateVersion: template.version,
    spec: template.spec,
    parameters: run.parameters,
    requestedBy: userId,
    ...(email ? { requestedByEmail: email } : {}),
    createdAt: now,
  };
  const client = await temporal.client();
  const answer = await withTransaction(pool, async (db) => {
    const first = await keyed?.answerIn<WorkflowRun>(db);
    if (first) return first;
    const inserted = await db.query(
      `INSERT INTO workflow_runs (tenant_id, id, version, template_id, template_version, template_name, status, requested_by, created_at, updated_at, body)
       VALUES ($1, $2, 1, $3, $4, $5, 'running', $6, $7, $7, $8) ON CONFLICT DO NOTHING`,
      [tenantId, id, template.id, template.version, template.name, userId, now, JSON.stringify(run)],
    );
    // A keyed retry whose first try wrote the row and started the workflow but lost its answer: the run as it now stands.
    if (!inserted.rowCount) return (await findRun(db, tenantId, id)) ?? run;
    await recordEntityEvents(db, {
      tenantId,
      resourceType: 'workflow-run',
      resourceId: id,
      versionTag: 'created',
      events: [{ action: 'workflow-run.create', before: null, after: { templateId: run.templateId, templateVersion: run.templateVersion, parameters: run.parameters } }],
      actor: { userId, email },
      requestId: c.get('requestId'),
      occurredAt: now,
    });
    await notifyWorkflowRun(db, { tenantId, runId: id, kind: 'run' });
    await withinCommandTimeout(c, client, () =>
      client.workflow.start(TEMPLATE_RUN_WORKFLOW_TYPE, {
        workflowId: workflowId(tenantId, 'template-run', id),
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        args: [input],
        // A retried create (same key → same id) reaches the workflow its first try started.
        workflowIdConflictPolicy: 'USE_EXISTING',
        typedSearchAttributes: searchAttributesOf(tenantId, run, templateRunTitle(run)),
        staticSummary: `${template.name} v${template.version}`,
        staticDetails: `Run ${id} of template ${template.name} version ${template.version}, requested by ${email ?? userId}`,
      }),
    );
    await keyed?.rememberIn(db, run);
    return run;
  });
  return answer;
}

export async function existingRun(c: Context<AppEnv>, id: string): Promise<WorkflowRun> {
  const run = await findRun(c.get('deps').pool, principalOf(c).tenantId, id);
  if (!run) throw new NotFound(`Workflow run ${id} not found`, 'RUN_NOT_FOUND');
  return run;
}

export function nodeOf(run: WorkflowRun, nodeId: string): RunNode {
  const node = run.nodes.find((n) => n.nodeId === nodeId);
  if (!node) throw new NotFound(`Workflow run ${run.id} has no node ${nodeId}`, 'NODE_NOT_FOUND');
  return node;
}

export async function updateRun<B>(c: Context<AppEnv>, id: string, definition: UpdateDefinition<WorkflowRun, [B, CommandMeta]>, body: B): Promise<WorkflowRun> {
  return sendUpdate(c, { kind: 'template-run', id, definition, body, scope: KEY_SCOPE, gone: () => runGone(c, id) });
}

/**
 * The answer for a run whose workflow is no longer there to take a command:
 * a live row behind a run that Temporal ended (a Cancel or Terminate in its UI,
 * a failure, a timeout) is marked as the sweep marks it and the 409 says how,
 * by whom and when; a finished run says so.
 */
async function runGone(c: Context<AppEnv>, id: string): Promise<never> {
  const ended = await endedOutsideConflict(c, {
    kind: 'template-run',
    id,
    noun: 'Workflow run',
    read: () => findRun(c.get('deps').pool, principalOf(c).tenantId, id),
    notFound: () => new NotFound(`Workflow run ${id} not found`, 'RUN_NOT_FOUND'),
    stateField: 'status',
    // A run is never taken up again from its row: the template is run anew.
    resumable: () => false,
    instead: 'start a new run of the template',
    reconcilePath: null,
  });
  if (ended) throw ended;
  const run = await existingRun(c, id);
  throw new Conflict(`Workflow run ${id} is ${run.status} and accepts no further commands`, 'RUN_FINISHED', { currentStatus: run.status });
}
