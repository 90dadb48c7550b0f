import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { z } from 'zod';
import type { integrationSchema } from '../../../domain/integrations/requests';
import { integrationType, INTEGRATION_TYPE_IDS, type IntegrationTypeDefinition } from '../../../domain/integrations/types';
import type { Pool, PoolClient } from '../../../platform/db';
import { integrationSecretKeys } from '../../../store/integrations-secrets';
import { policiesNamingIntegration } from '../../../store/policy-http-gates';
import { deleteIntegrationRow, findIntegration, insertIntegration, integrationWithSecrets, presentIntegrationRow, updateIntegration } from '../../../store/integrations';
import type { AppEnv } from '../../context';
import { auditedWrite } from '../../entity-writes';
import { Conflict, NotFound, Unprocessable, ValidationFailed } from '../../errors';
import { checkedConfig, checkedEvents } from './integrations.config';
import { deleteHealthSchedule, ensureHealthSchedule, triggerHealthCheck } from './integrations.calls';

/**
 * The API's writes of integrations, each with its audit entry in one
 * transaction. The audit entry holds the config without secrets and which
 * secrets are set; a secret's value is never written anywhere in clear.
 * The health Schedule is made before the row (a Temporal that cannot make it
 * refuses the create, nothing saved; a refused insert deletes it again),
 * made again by a PUT if it went missing, and deleted before the row.
 */

type C = Context<AppEnv>;
type Body = z.infer<typeof integrationSchema>;
const DUPLICATE = { '*': 'An integration with this name already exists' };

/** The body's schema admits only known types; this is for the compiler. */
export function typeOf(typeId: string): IntegrationTypeDefinition {
  const type = integrationType(typeId);
  if (!type) throw new ValidationFailed([{ field: 'typeId', code: 'invalid_value', message: `is not an integration type; known types: ${INTEGRATION_TYPE_IDS.join(', ')}` }]);
  return type;
}

export async function createIntegration(c: C, tenantId: string, userId: string, body: Body) {
  const type = typeOf(body.typeId);
  const split = checkedConfig(type.config, type.secretFields, body.config);
  const events = checkedEvents(type.kind, body.events);
  const keys = integrationSecretKeys(c.get('deps').config);
  const id = randomUUID();
  await ensureHealthSchedule(c, tenantId, id, body.name);
  let row;
  try {
    row = await auditedWrite(
      c,
      async (db) => {
        const inserted = await insertIntegration(db, keys, tenantId, id, { typeId: type.id, name: body.name, description: body.description ?? null, ...split, events }, userId);
        return { result: inserted, audit: { action: 'integration.create', resourceType: 'integration', resourceId: id, after: presentIntegrationRow(inserted) } };
      },
      { unique: DUPLICATE },
    );
  } catch (err) {
    await deleteHealthSchedule(c, tenantId, id).catch(() => undefined);
    throw err;
  }
  await triggerHealthCheck(c, tenantId, id);
  return presentIntegrationRow(row);
}

export async function replaceIntegration(c: C, tenantId: string, id: string, body: Body) {
  const keys = integrationSecretKeys(c.get('deps').config);
  const current = await integrationWithSecrets(c.get('deps').pool, keys, tenantId, id);
  if (!current) throw new NotFound(`Integration ${id} not found`);
  if (body.typeId !== current.type_id) throw new Unprocessable(`Integration ${id} is a ${current.type_id}; its type cannot change (create another integration)`, 'TYPE_CHANGE', { typeId: current.type_id });
  const type = typeOf(body.typeId);
  const split = checkedConfig(type.config, type.secretFields, body.config, current.secrets);
  const events = checkedEvents(type.kind, body.events);
  const row = await auditedWrite(
    c,
    async (db) => {
      const before = await findIntegration(db, tenantId, id, true);
      if (!before) return undefined;
      const after = await updateIntegration(db, keys, tenantId, id, { typeId: type.id, name: body.name, description: body.description ?? null, ...split, events });
      return { result: after, audit: { action: 'integration.update', resourceType: 'integration', resourceId: id, before: presentIntegrationRow(before), after: presentIntegrationRow(after) } };
    },
    { unique: DUPLICATE, notFound: `Integration ${id} not found` },
  );
  await ensureHealthSchedule(c, tenantId, id, row.name);
  return presentIntegrationRow(row);
}

export async function deleteIntegration(c: C, tenantId: string, id: string): Promise<void> {
  if (!(await findIntegration(c.get('deps').pool, tenantId, id))) throw new NotFound(`Integration ${id} not found`);
  await refuseIfNamed(c.get('deps').pool, tenantId, id);
  await deleteHealthSchedule(c, tenantId, id);
  await auditedWrite(
    c,
    async (db) => {
      // Asked again under the row's lock: a policy saved meanwhile (it locks the row to name it) is seen here.
      if (!(await findIntegration(db, tenantId, id, true))) return undefined;
      await refuseIfNamed(db, tenantId, id);
      const before = await deleteIntegrationRow(db, tenantId, id);
      if (!before) return undefined;
      return { result: id, audit: { action: 'integration.delete', resourceType: 'integration', resourceId: id, before: presentIntegrationRow(before) } };
    },
    { notFound: `Integration ${id} not found` },
  );
}

/** An integration an approval policy names as an http gate stays until the policy stops naming it. */
async function refuseIfNamed(db: Pool | PoolClient, tenantId: string, id: string): Promise<void> {
  const policies = await policiesNamingIntegration(db, tenantId, id);
  if (policies.length === 0) return;
  throw new Conflict(
    `Integration ${id} is an http gate of approval ${policies.length === 1 ? 'policy' : 'policies'} ${policies.map((p) => p.name).join(', ')}; remove it from their httpGates first`,
    'INTEGRATION_IN_USE',
    { policies },
  );
}
