import { api, download, explain, list } from './api';
import { decisionControls } from './decide';
import { h, loaded, time } from './dom';
import { filteredListPage } from './listing';
import { PROMOTION_STATUSES, type EvidencePacketSummary, type Gate, type Promotion } from './types';

const statusBadge = (status: string) => h('span', { class: `status status-${status}` }, status.replace(/_/g, ' '));

/** Promotions, newest first, filtered by status (kept in the address: #/promotions?status=…&page=…). */
export function promotionsPage(main: HTMLElement, query: URLSearchParams): Promise<void> {
  return filteredListPage<Promotion>(main, query, {
    name: 'promotions',
    heading: 'Promotions',
    noun: 'promotions',
    path: '/promotions',
    statuses: PROMOTION_STATUSES,
    ids: { filter: 'status-filter', rows: 'promotion-rows' },
    columns: ['Release', 'From', 'To', 'Status', 'Requested by', 'Requested at'],
    row: (p) =>
      h(
        'tr',
        { 'data-promotion-id': p.id },
        h('td', {}, h('a', { href: `#/promotions/${p.id}` }, p.releaseName)),
        h('td', {}, p.sourceEnvironmentName ?? '—'),
        h('td', {}, p.targetEnvironmentName),
        h('td', {}, statusBadge(p.status)),
        h('td', {}, p.requestedByEmail ?? p.requestedBy),
        h('td', {}, time(p.requestedAt)),
      ),
  });
}

function gatesTable(gates: Gate[]): HTMLElement {
  if (gates.length === 0) return h('p', { class: 'muted' }, 'No gate has been evaluated yet.');
  return h(
    'table',
    { id: 'gates', 'aria-labelledby': 'gates-heading' },
    h('thead', {}, h('tr', {}, ...['Gate', 'Result', 'What it found (and what would unblock it)'].map((c) => h('th', { scope: 'col' }, c)))),
    h(
      'tbody',
      {},
      ...gates.map((g) =>
        h(
          'tr',
          { 'data-gate': g.gateName },
          h('th', { scope: 'row' }, g.gateName),
          h('td', { class: g.passed ? 'passed' : 'failed' }, g.passed ? 'passed' : g.blocking ? 'failed (blocking)' : 'failed (holding)'),
          h('td', {}, g.message),
        ),
      ),
    ),
  );
}

function approvalsList(p: Promotion): HTMLElement {
  if (p.approvals.length === 0) return h('p', { class: 'muted', id: 'approvals' }, 'No decisions yet.');
  return h(
    'ul',
    { id: 'approvals' },
    ...p.approvals.map((a) =>
      h(
        'li',
        {},
        h('strong', {}, a.decision),
        ' by ',
        a.approverEmail ?? a.approverName ?? a.approverId,
        ' at ',
        time(a.approvedAt),
        a.comment ? `: “${a.comment}”` : '',
        a.invalidated ? h('span', { class: 'muted' }, ` (no longer counts: ${a.invalidated.reasons.join('; ')})`) : '',
      ),
    ),
  );
}

/** The promotion's signed evidence packets, each downloaded with the token (a plain link would carry none). */
async function evidenceList(id: string): Promise<HTMLElement> {
  const error = h('p', { class: 'error', role: 'alert' });
  try {
    const packets = await list<EvidencePacketSummary>(`/evidence-packets?promotionId=${encodeURIComponent(id)}&pageSize=50`);
    if (packets.data.length === 0) return h('p', { class: 'muted', id: 'evidence' }, 'No evidence packet yet: one is signed at each decision.');
    return h(
      'div',
      { id: 'evidence' },
      h(
        'ul',
        {},
        ...packets.data.map((e) =>
          h(
            'li',
            {},
            `${e.decision}, signed `,
            time(e.generatedAt),
            ' ',
            h(
              'button',
              {
                type: 'button',
                'aria-label': `Download the ${e.decision} evidence packet`,
                onclick: async () => {
                  error.textContent = '';
                  try {
                    const file = await download(`/evidence-packets/${e.id}/download`, `evidence-${e.id}.json`);
                    const url = URL.createObjectURL(file.blob);
                    const a = h('a', { href: url, download: file.name });
                    a.click();
                    setTimeout(() => URL.revokeObjectURL(url), 60_000);
                  } catch (err) {
                    error.textContent = explain(err);
                  }
                },
              },
              'Download',
            ),
          ),
        ),
      ),
      h('p', { class: 'muted' }, 'Verify a packet offline with npm run verify-evidence -- <file>.'),
      error,
    );
  } catch (err) {
    error.textContent = explain(err);
    return h('div', { id: 'evidence' }, error);
  }
}

/** One promotion: where it stands, its gates, its approvals and evidence, and the decision buttons while it awaits approval. */
export async function promotionPage(main: HTMLElement, id: string): Promise<void> {
  const error = h('p', { class: 'error', role: 'alert' });
  main.replaceChildren(h('section', {}, h('h2', {}, 'Promotion'), h('p', { role: 'status', class: 'muted' }, 'Loading…'), error));
  let p: Promotion;
  try {
    p = await api<Promotion>('GET', `/promotions/${encodeURIComponent(id)}`);
  } catch (err) {
    main.replaceChildren(h('section', {}, h('h2', {}, 'Promotion'), error, h('p', {}, h('a', { href: '#/promotions' }, 'Back to promotions'))));
    error.textContent = explain(err);
    loaded(main, error, 'promotion');
    return;
  }
  const facts: Array<[string, Node | string]> = [
    ['Status', statusBadge(p.status)],
    ['From', p.sourceEnvironmentName ?? '—'],
    ['Requested by', p.requestedByEmail ?? p.requestedBy],
    ['Requested at', time(p.requestedAt)],
    ['Reason', p.reason || '—'],
    ['Approvals', `${p.approvalCount} of ${p.requiredApprovals} (policy “${p.policy.name}”${p.policy.approverGroups.length ? `, groups ${p.policy.approverGroups.join(', ')}` : ''}${p.policy.requireSeparationOfDuties ? ', separation of duties' : ''})`],
  ];
  if (p.expiresAt) facts.push(['Approval expires', time(p.expiresAt)]);
  if (p.heldUntil) facts.push(['Held by a freeze until', time(p.heldUntil)]);
  if (p.statusReason) facts.push(['Why', p.statusReason]);
  if (p.decidedAt) facts.push(['Decided at', time(p.decidedAt)]);
  main.replaceChildren(
    h(
      'section',
      { 'aria-labelledby': 'promotion-heading', 'data-promotion-id': p.id },
      h('p', {}, h('a', { href: '#/promotions' }, '← Promotions')),
      h('h2', { id: 'promotion-heading' }, `${p.releaseName} → ${p.targetEnvironmentName}`),
      h('dl', { class: 'facts' }, ...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-fact': k }, v)])),
      p.status === 'awaiting_approval' ? h('section', { 'aria-labelledby': 'decide-heading' }, h('h3', { id: 'decide-heading' }, 'Your decision'), decisionControls(p, () => void promotionPage(main, id))) : '',
      h('section', { 'aria-labelledby': 'gates-heading' }, h('h3', { id: 'gates-heading' }, 'Gates'), gatesTable(p.gates)),
      h('section', { 'aria-labelledby': 'approvals-heading' }, h('h3', { id: 'approvals-heading' }, 'Approvals'), approvalsList(p)),
      h('section', { 'aria-labelledby': 'evidence-heading' }, h('h3', { id: 'evidence-heading' }, 'Evidence packets'), await evidenceList(p.id)),
    ),
  );
  loaded(main, main.firstElementChild, 'promotion');
}
