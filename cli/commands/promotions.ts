import type { Promotion } from '../../domain/promotions/model';
import { PROMOTION_STATUSES } from '../../domain/promotions/statuses';
import { durationMs, oneOf, optional, required, sleep, type Command, type Context } from '../command';
import { ApiFailure, Outcome } from '../errors';
import { cell, fields, printJson, table, when } from '../output';

type Status = Promotion['status'];

/** The happy path in order: waiting for one of these is met by any later one too. */
const FLOW: Status[] = ['pending', 'awaiting_approval', 'approved', 'deploying', 'deployed'];
const FINAL: Status[] = ['deployed', 'rejected', 'cancelled', 'failed', 'rolled_back'];

export function promotionRows(items: Promotion[]): string {
  return table(
    ['ID', 'RELEASE', 'ENV', 'STATUS', 'APPROVALS', 'REQUESTED BY', 'REQUESTED'],
    items.map((p) => [p.id, p.releaseName, p.targetEnvironmentName, p.status, `${p.approvalCount}/${p.requiredApprovals}`, p.requestedByEmail ?? p.requestedBy, when(p.requestedAt)]),
  );
}

function showPromotion(ctx: Context, p: Promotion): void {
  if (ctx.out.json) return printJson(ctx.out, p);
  let text = fields([
    ['id', p.id],
    ['release', p.releaseName],
    ['from', p.sourceEnvironmentName],
    ['to', p.targetEnvironmentName],
    ['status', p.statusReason ? `${p.status} (${p.statusReason})` : p.status],
    ['requested', `${when(p.requestedAt)} by ${p.requestedByEmail ?? p.requestedBy}`],
    ['reason', p.reason],
    ['change', p.changeId],
    ['approvals', `${p.approvalCount}/${p.requiredApprovals}`],
    ...(p.heldUntil ? ([['held until', when(p.heldUntil)]] as Array<[string, string]>) : []),
  ]);
  if (p.gates.length) text += `\n${table(['GATE', 'RESULT', 'MESSAGE'], p.gates.map((g) => [g.gateName, g.passed ? 'pass' : g.blocking ? 'FAIL' : 'warn', g.message]))}`;
  if (p.approvals.length) text += `\n${table(['APPROVER', 'DECISION', 'AT', 'COMMENT'], p.approvals.map((a) => [a.approverEmail ?? a.approverId, a.decision, when(a.approvedAt), cell(a.comment)]))}`;
  ctx.out.write(text);
}

const id = (ctx: Context) => encodeURIComponent(ctx.positionals[0]);

/** approve and reject: a POST to the promotion's command with one text option. */
function decision(verb: 'approve' | 'reject', synopsis: string, summary: string, option: string, body: (ctx: Context) => object): Command {
  return {
    words: ['promotions', verb],
    synopsis,
    summary,
    positionals: [1, 1],
    options: { [option]: { type: 'string' } },
    async run(ctx) {
      showPromotion(ctx, await ctx.client().post<Promotion>(`/promotions/${id(ctx)}/${verb}`, body(ctx)));
    },
  };
}

export const promotionCommands: Command[] = [
  {
    words: ['promotions', 'list'],
    synopsis: `[--status ${PROMOTION_STATUSES.join('|')}] [--env ENVIRONMENT_ID] [--release RELEASE_ID] [--limit N]`,
    summary: 'Promotions, newest first.',
    options: { status: { type: 'string' }, env: { type: 'string' }, release: { type: 'string' }, limit: { type: 'string' } },
    async run(ctx) {
      const page = await ctx.client().list<Promotion>('/promotions', {
        status: oneOf(ctx, 'status', PROMOTION_STATUSES),
        environmentId: optional(ctx, 'env'),
        releaseId: optional(ctx, 'release'),
        pageSize: optional(ctx, 'limit') ?? 50,
      });
      if (ctx.out.json) return printJson(ctx.out, page.items);
      ctx.out.write(promotionRows(page.items));
    },
  },
  {
    words: ['promotions', 'get'],
    synopsis: '<id>',
    summary: 'A promotion with its gates (pass/fail and why) and approvals.',
    positionals: [1, 1],
    async run(ctx) {
      showPromotion(ctx, await ctx.client().get<Promotion>(`/promotions/${id(ctx)}`));
    },
  },
  {
    words: ['promotions', 'request'],
    synopsis: '--release RELEASE_ID --env ENVIRONMENT_ID --reason TEXT [--change CHG…]',
    summary: 'Requests the promotion of a release to an environment (gates are evaluated at once).',
    options: { release: { type: 'string' }, env: { type: 'string' }, reason: { type: 'string' }, change: { type: 'string' } },
    async run(ctx) {
      const body = { releaseId: required(ctx, 'release'), targetEnvironmentId: required(ctx, 'env'), reason: required(ctx, 'reason'), changeId: optional(ctx, 'change') };
      showPromotion(ctx, await ctx.client().post<Promotion>('/promotions', body));
    },
  },
  decision('approve', '<id> [--comment TEXT]', 'Approves a promotion awaiting approval.', 'comment', (ctx) => {
    const comment = optional(ctx, 'comment');
    return comment === undefined ? {} : { comment };
  }),
  decision('reject', '<id> --reason TEXT', 'Rejects a promotion awaiting approval.', 'reason', (ctx) => ({ reason: required(ctx, 'reason') })),
  {
    words: ['promotions', 'wait'],
    synopsis: `<id> [--for ${PROMOTION_STATUSES.join('|')}] [--timeout 10m] [--interval 2s]`,
    summary: 'Polls until the promotion reaches the status (default deployed); exits 1 if it ends in another final status or the timeout passes.',
    positionals: [1, 1],
    options: { for: { type: 'string' }, timeout: { type: 'string' }, interval: { type: 'string' } },
    async run(ctx) {
      const target = oneOf(ctx, 'for', PROMOTION_STATUSES) ?? 'deployed';
      const timeout = durationMs(ctx, 'timeout', '10m');
      const interval = durationMs(ctx, 'interval', '2s');
      const client = ctx.client();
      const deadline = Date.now() + timeout;
      let last: Status | undefined;
      for (;;) {
        const p = await transientlyRetried(() => client.get<Promotion>(`/promotions/${id(ctx)}`), deadline);
        if (!p) {
          await sleep(interval);
          continue;
        }
        // Progress goes to stderr: stdout holds only the outcome (a line, or the promotion with --json).
        if (p.status !== last) process.stderr.write(`${when(new Date().toISOString())} ${p.id} ${p.status}${p.statusReason ? ` (${p.statusReason})` : ''}\n`);
        last = p.status;
        const verdict = reached(p.status, target);
        if (verdict === 'yes') {
          if (ctx.out.json) return printJson(ctx.out, p);
          return ctx.out.write(`${p.id} ${p.status}${p.statusReason ? ` (${p.statusReason})` : ''}\n`);
        }
        const timedOut = Date.now() + interval > deadline;
        if (verdict === 'never' || timedOut) {
          if (ctx.out.json) printJson(ctx.out, p);
          const now = `${p.status}${p.statusReason ? ` (${p.statusReason})` : ''}`;
          if (verdict === 'never') throw new Outcome('PROMOTION_ENDED', `promotion ${p.id} ended ${now}, not ${target}`);
          throw new Outcome('WAIT_TIMEOUT', `promotion ${p.id} is still ${now} after ${optional(ctx, 'timeout') ?? '10m'}; wanted ${target}`);
        }
        await sleep(interval);
      }
    },
  },
];

/** Whether `status` meets a wait for `target`: yes, not yet, or never (it ended elsewhere). */
export function reached(status: Status, target: Status): 'yes' | 'not-yet' | 'never' {
  if (status === target) return 'yes';
  const at = FLOW.indexOf(status);
  const want = FLOW.indexOf(target);
  if (at >= 0 && want >= 0 && at > want) return 'yes';
  return FINAL.includes(status) ? 'never' : 'not-yet';
}

/**
 * A pipeline step outlives API restarts and rate limits: an unreachable API,
 * a 429 or a 5xx is reported on stderr and polled again (undefined) until the
 * deadline; other refusals (401, 403, 404) end the wait at once.
 */
async function transientlyRetried<T>(read: () => Promise<T>, deadline: number): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    const transient = err instanceof ApiFailure && (err.status === 0 || err.status === 429 || err.status >= 500);
    if (!transient || Date.now() >= deadline) throw err;
    process.stderr.write(`${when(new Date().toISOString())} ${err.code}: ${err.message}; asking again\n`);
    return undefined;
  }
}
