import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { workflowId } from '../../domain/workflow-ids';
import { SA } from '../../domain/search-attributes';
import { getChange } from '../../workflows/changes/messages';
import { dataConverterOf } from '../../platform/payload-keys';
import type { Ack, LifecycleRecord } from './driver';
import { sleep } from './stack';

export interface Verdict {
  acknowledged: number;
  /** Acknowledged requests whose effect is missing from Postgres or Temporal (each listed in `problems`). */
  lost: number;
  duplicates: {
    /** Changes beyond one per lifecycle (a create applied twice). */
    changes: number;
    /** Audit rows beyond one per action and change (approvals: one per approver). */
    auditRows: number;
    /** Risk assessments beyond one per change version, and beyond the one the create makes. */
    riskAssessments: number;
  };
  problems: string[];
}

interface AuditRow {
  resource_id: string;
  action: string;
  actor: string;
  dedupe_key: string | null;
}

/**
 * Checks every acknowledged request against the read model, the audit trail and
 * the workflow: an acknowledged request is lost when its change is missing or
 * behind in Postgres, its audit rows are missing at the version it answered
 * with, or the workflow is behind. Duplicates are side effects applied twice.
 */
export async function verify(options: { databaseUrl: string; temporalAddress: string; dataDir: string; tenant: string; runTag: string; lifecycles: LifecycleRecord[]; settleMs?: number }): Promise<Verdict> {
  const { tenant, lifecycles } = options;
  const problems: string[] = [];
  const lostKeys = new Set<string>();
  const lose = (ack: Ack, why: string) => {
    lostKeys.add(ack.key);
    problems.push(`lost: ${ack.key} (${ack.changeId} v${ack.version} ${ack.state}): ${why}`);
  };
  const acks = lifecycles.flatMap((l) => l.acks);

  const db = new pg.Client({ connectionString: options.databaseUrl });
  await db.connect();
  const connection = await Connection.connect({ address: options.temporalAddress });
  // The stack encrypts payloads with the key in its DATA_DIR: results and queries are read with it.
  const temporal = new Client({ connection, dataConverter: dataConverterOf({ DATA_DIR: options.dataDir }) });
  try {
    const changes = new Map<string, { version: number; state: string; short_description: string }>();
    for (const r of (await db.query(`SELECT id, version, state, short_description FROM changes WHERE tenant_id = $1`, [tenant])).rows) changes.set(r.id, r);
    const audit: AuditRow[] = (await db.query(`SELECT resource_id, action, actor, dedupe_key FROM audit_log WHERE tenant_id = $1 AND resource_type = 'change' ORDER BY id`, [tenant])).rows;
    const assessments: Array<{ change_id: string; change_version: number }> = (
      await db.query(`SELECT change_id, change_version FROM change_risk_assessments WHERE tenant_id = $1`, [tenant])
    ).rows;

    // Postgres: the row is at least as new as every answer, and the answer's audit rows exist at its version.
    const auditAt = new Map<string, string[]>();
    for (const row of audit) {
      const version = versionOf(row.dedupe_key);
      const k = `${row.resource_id}@${version}`;
      auditAt.set(k, [...(auditAt.get(k) ?? []), row.action]);
    }
    for (const ack of acks) {
      const row = changes.get(ack.changeId);
      if (!row) {
        lose(ack, 'no row in changes');
        continue;
      }
      if (row.version < ack.version) lose(ack, `the row is at v${row.version}`);
      else if (row.version === ack.version && row.state !== ack.state) lose(ack, `the row says ${row.state} at the same version`);
      const written = auditAt.get(`${ack.changeId}@${ack.version}`) ?? [];
      if (JSON.stringify(written) !== JSON.stringify(ack.actions)) lose(ack, `audit rows at v${ack.version} are [${written.join(', ')}], expected [${ack.actions.join(', ')}]`);
    }

    // Temporal: the workflow has every acknowledged version, and its search attribute follows the row.
    const byChange = new Map<string, Ack[]>();
    for (const ack of acks) byChange.set(ack.changeId, [...(byChange.get(ack.changeId) ?? []), ack]);
    const settleBy = Date.now() + (options.settleMs ?? 30_000);
    for (const [id, list] of byChange) {
      const last = list.reduce((a, b) => (b.version > a.version ? b : a));
      const row = changes.get(id);
      const handle = temporal.workflow.getHandle(workflowId(tenant, 'change', id));
      let why = '';
      for (;;) {
        why = await workflowProblem(handle, last, row?.state).catch((err: Error) => `describe failed: ${err.message}`);
        if (!why || Date.now() > settleBy) break;
        // Visibility (search attributes, status) is eventually consistent: poll until the deadline.
        await sleep(250);
      }
      if (why) lose(last, `workflow: ${why}`);
    }

    // Duplicates: one change per lifecycle marker, each action once per change (approvals once per approver).
    const byMarker = new Map<string, number>();
    for (const row of changes.values()) {
      const marker = row.short_description.startsWith(`Fault drill ${options.runTag}/`) ? row.short_description : undefined;
      if (marker) byMarker.set(marker, (byMarker.get(marker) ?? 0) + 1);
    }
    let duplicateChanges = 0;
    for (const [marker, n] of byMarker) {
      if (n > 1) {
        duplicateChanges += n - 1;
        problems.push(`duplicate: ${n} changes carry "${marker}"`);
      }
    }
    const actionCounts = new Map<string, number>();
    for (const row of audit) {
      const k = `${row.resource_id} ${row.action}${row.action === 'change.approve' ? ` by ${row.actor}` : ''}`;
      actionCounts.set(k, (actionCounts.get(k) ?? 0) + 1);
    }
    let duplicateAudit = 0;
    for (const [k, n] of actionCounts) {
      if (n > 1) {
        duplicateAudit += n - 1;
        problems.push(`duplicate: ${k} recorded ${n} times`);
      }
    }
    // The driver never edits a risk input after create, so each change is assessed exactly once.
    const perVersion = new Map<string, number>();
    const perChange = new Map<string, number>();
    for (const a of assessments) {
      perVersion.set(`${a.change_id}@${a.change_version}`, (perVersion.get(`${a.change_id}@${a.change_version}`) ?? 0) + 1);
      perChange.set(a.change_id, (perChange.get(a.change_id) ?? 0) + 1);
    }
    let duplicateRisk = 0;
    for (const [k, n] of perVersion) {
      if (n > 1) {
        duplicateRisk += n - 1;
        problems.push(`duplicate: ${n} risk assessments of ${k}`);
      }
    }
    for (const [id, n] of perChange) {
      if (n > 1) {
        duplicateRisk += n - 1;
        problems.push(`duplicate: ${id} was assessed ${n} times`);
      }
    }

    return {
      acknowledged: acks.length,
      lost: lostKeys.size,
      duplicates: { changes: duplicateChanges, auditRows: duplicateAudit, riskAssessments: duplicateRisk },
      problems,
    };
  } finally {
    await db.end().catch(() => undefined);
    await connection.close().catch(() => undefined);
  }
}

/** Audit dedupe keys are `change:<tenant>:<id>:<version>:<index>`; the version is the second-last part. */
function versionOf(dedupeKey: string | null): number | undefined {
  const parts = dedupeKey?.split(':') ?? [];
  const version = Number(parts[parts.length - 2]);
  return parts.length >= 5 && Number.isInteger(version) ? version : undefined;
}

async function workflowProblem(handle: ReturnType<Client['workflow']['getHandle']>, last: Ack, rowState: string | undefined): Promise<string> {
  const description = await handle.describe();
  const status = description.status.name;
  const saState = description.typedSearchAttributes.get(SA.state);
  if (rowState !== undefined && saState !== rowState) return `${SA.state.name} is ${saState}, the row says ${rowState}`;
  if (last.state === 'closed') {
    if (status !== 'COMPLETED') return `status ${status} after the change was closed`;
    const result = (await handle.result()) as { state: string };
    return result.state === 'closed' ? '' : `ended with state ${result.state}`;
  }
  if (status !== 'RUNNING') return `status ${status} while the change is ${last.state}`;
  const change = await handle.query(getChange);
  if (!change) return 'the workflow holds no change';
  return change.version >= last.version ? '' : `the workflow is at v${change.version}`;
}
