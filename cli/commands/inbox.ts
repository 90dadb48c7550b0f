import { oneOf, optional, type Command } from '../command';
import { printJson, table, when } from '../output';

const KINDS = ['promotion', 'change', 'workflow-step'] as const;

interface Awaiting {
  approvals: number;
  approvers: string[];
  approverGroups: string[];
}
type Item =
  | { kind: 'promotion'; id: string; releaseName: string; targetEnvironmentName: string; requestedBy: string; requestedByEmail: string | null; requestedAt: string; awaiting: Awaiting }
  | { kind: 'change'; id: string; short_description: string; requested_by?: string; created_at?: string; awaiting: Awaiting }
  | { kind: 'workflow-step'; id: string; templateName: string; nodeId: string; requestedBy: string; requestedByEmail: string | null; since: string; awaiting: Awaiting };

function describe(item: Item): [string, string, string] {
  switch (item.kind) {
    case 'promotion':
      return [`${item.releaseName} to ${item.targetEnvironmentName}`, item.requestedByEmail ?? item.requestedBy, item.requestedAt];
    case 'change':
      return [item.short_description, item.requested_by ?? '-', item.created_at ?? ''];
    case 'workflow-step':
      return [`${item.templateName}: step ${item.nodeId}`, item.requestedByEmail ?? item.requestedBy, item.since];
  }
}

function waitingFor(a: Awaiting): string {
  const who = a.approverGroups.length ? ` from ${a.approverGroups.join(', ')}` : a.approvers.length ? ` from ${a.approvers.join(', ')}` : '';
  return `${a.approvals} approval${a.approvals === 1 ? '' : 's'}${who}`;
}

export const inbox: Command = {
  words: ['inbox'],
  synopsis: `[--kind ${KINDS.join('|')}] [--limit N]`,
  summary: 'What waits for your approval: promotions, changes and workflow steps.',
  options: { kind: { type: 'string' }, limit: { type: 'string' } },
  async run(ctx) {
    const page = await ctx.client().list<Item>('/my/pending-approvals', { kind: oneOf(ctx, 'kind', KINDS), pageSize: optional(ctx, 'limit') ?? 50 });
    if (ctx.out.json) return printJson(ctx.out, page.items);
    ctx.out.write(
      table(
        ['KIND', 'ID', 'WHAT', 'REQUESTED BY', 'SINCE', 'WAITING FOR'],
        page.items.map((item) => {
          const [what, by, since] = describe(item);
          return [item.kind, item.id, what, by, when(since), waitingFor(item.awaiting)];
        }),
      ),
    );
  },
};
