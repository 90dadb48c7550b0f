import { optional, type Command } from '../command';
import type { Cell } from '../output';
import { printJson, table, when } from '../output';

type Row = Record<string, string | null | undefined>;

/**
 * A read-only list of ITSM records: each option goes to the API as the query
 * parameter it names, as given (the API says what it accepts).
 */
function listCommand(noun: string, summary: string, filters: Record<string, { param: string; hint: string }>, columns: Array<[string, (r: Row) => Cell]>): Command {
  return {
    words: [noun, 'list'],
    synopsis: `${Object.entries(filters)
      .map(([name, f]) => `[--${name} ${f.hint}]`)
      .join(' ')} [--limit N]`,
    summary,
    options: Object.fromEntries([...Object.keys(filters), 'limit'].map((name) => [name, { type: 'string' as const }])),
    async run(ctx) {
      const query = Object.fromEntries(Object.entries(filters).map(([name, f]) => [f.param, optional(ctx, name)]));
      const page = await ctx.client().list<Row>(`/${noun}`, { ...query, pageSize: optional(ctx, 'limit') ?? 50 });
      if (ctx.out.json) return printJson(ctx.out, page.items);
      ctx.out.write(table(columns.map(([h]) => h), page.items.map((r) => columns.map(([, value]) => value(r)))));
    },
  };
}

const search = { param: 'q', hint: 'TEXT' };

export const recordCommands: Command[] = [
  listCommand(
    'changes',
    'Change requests, newest first.',
    { state: { param: 'state', hint: 'S[,S…]' }, type: { param: 'type', hint: 'T' }, risk: { param: 'risk_level', hint: 'LEVEL' }, search },
    [
      ['ID', (c) => c.id],
      ['TYPE', (c) => c.type],
      ['STATE', (c) => c.state],
      ['RISK', (c) => c.risk_level],
      ['REQUESTED BY', (c) => c.requested_by],
      ['SCHEDULED', (c) => when(c.scheduled_start)],
      ['SUMMARY', (c) => c.short_description],
    ],
  ),
  listCommand(
    'incidents',
    'Incidents, newest first.',
    { state: { param: 'state', hint: 'S[,S…]' }, priority: { param: 'priority', hint: 'P1[,P2…]' }, group: { param: 'assignment_group', hint: 'NAME' }, search },
    [
      ['ID', (i) => i.id],
      ['PRIORITY', (i) => i.priority],
      ['STATE', (i) => i.state],
      ['GROUP', (i) => i.assignment_group],
      ['ASSIGNED TO', (i) => i.assigned_to],
      ['CREATED', (i) => when(i.created_at)],
      ['SUMMARY', (i) => i.short_description],
    ],
  ),
];
