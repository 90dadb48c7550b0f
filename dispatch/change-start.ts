import type { SearchAttributePair } from '@temporalio/common';
import type { Identity } from '../domain/actor';
import { changeNumberToId } from '../domain/changes/model';
import type { CreateChangeInput } from '../domain/changes/requests';
import { changeTitle } from '../domain/workflow-titles';
import type { Config } from '../platform/config';
import type { Pool } from '../platform/db';
import { searchAttributesOf, type ChangeWorkflowInput } from '../workflows/changes/messages';

/**
 * Opening a change, for every caller (the API's POST /changes and a template
 * run's `change-request` step): the same number sequence and the same start of
 * its `changeLifecycle` workflow, whose create update then applies the
 * module's rules and persists the row.
 */

/** The next change id of the tenant (CHG0000042): numbers are never reused, so an id taken and not used leaves a gap. */
export async function allocateChangeId(pool: Pool, tenantId: string): Promise<string> {
  const { rows } = await pool.query<{ n: number }>("SELECT next_resource_number($1, 'change') AS n", [tenantId]);
  return changeNumberToId(rows[0].n);
}

export interface ChangeStart {
  args: [ChangeWorkflowInput];
  searchAttributes: SearchAttributePair[];
  summary: string;
  details: string;
}

export function changeStartOptions(config: Config, tenantId: string, id: string, body: CreateChangeInput, requester: Identity): ChangeStart {
  return {
    args: [
      {
        tenantId,
        changeId: id,
        // The id is what callers and keys record; the workflow also wants the bare number.
        number: Number(id.replace(/^CHG/, '')),
        settings: { reviewDeadlineMs: config.CHANGE_REVIEW_DEADLINE, defaultCabQuorum: config.CHANGE_CAB_QUORUM },
      },
    ],
    searchAttributes: searchAttributesOf(tenantId, { id, state: 'draft', type: body.type }, changeTitle({ id, short_description: body.short_description })),
    summary: body.short_description,
    details: `${id}: ${body.type} change requested by ${requester.email ?? requester.userId}${body.assignment_group ? ` for ${body.assignment_group}` : ''}`,
  };
}
