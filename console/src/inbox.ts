import { explain, list } from './api';
import { decisionControls } from './decide';
import { h, loaded, time } from './dom';
import type { PendingItem } from './types';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The approvals inbox: what waits on the signed-in person's decision, oldest first. */
export async function inboxPage(main: HTMLElement): Promise<void> {
  const status = h('p', { role: 'status', class: 'muted', id: 'inbox-status' }, 'Loading…');
  const error = h('p', { class: 'error', role: 'alert' });
  const items = h('ul', { class: 'plain', id: 'inbox-items', 'aria-labelledby': 'inbox-heading' });
  main.replaceChildren(h('section', { 'aria-labelledby': 'inbox-heading' }, h('h2', { id: 'inbox-heading' }, 'Approvals inbox'), status, error, items));

  const load = async () => {
    try {
      const page = await list<PendingItem>('/my/pending-approvals?pageSize=100');
      items.replaceChildren(...page.data.map((item) => h('li', {}, card(item, load))));
      status.textContent = page.totalItems === 0 ? 'Nothing waits on your decision.' : `${plural(page.totalItems, 'item')} waiting on your decision.`;
    } catch (err) {
      status.textContent = '';
      error.textContent = explain(err);
    }
    loaded(main, items, 'inbox');
  };
  await load();
}

function card(item: PendingItem, reload: () => Promise<void>): HTMLElement {
  if (item.kind === 'promotion') {
    const missing = item.awaiting.approvals;
    return h(
      'article',
      { class: 'card', 'data-promotion-id': item.id, 'aria-labelledby': `p-${item.id}` },
      h('h3', { id: `p-${item.id}` }, h('a', { href: `#/promotions/${item.id}` }, `${item.releaseName} → ${item.targetEnvironmentName}`)),
      h('p', {}, 'Requested by ', item.requestedByEmail ?? item.requestedBy, ' at ', time(item.requestedAt), item.reason ? `: “${item.reason}”` : ''),
      h(
        'p',
        { class: 'muted' },
        `${plural(missing, 'more approval')} needed`,
        item.awaiting.approverGroups.length ? ` from ${item.awaiting.approverGroups.join(', ')}` : '',
        item.expiresAt ? '; expires ' : '',
        item.expiresAt ? time(item.expiresAt) : '',
      ),
      decisionControls(item, () => void reload()),
    );
  }
  if (item.kind === 'change') {
    return h(
      'article',
      { class: 'card', 'data-change-id': item.id },
      h('h3', {}, `Change ${item.number ?? item.id}${item.title ? `: ${item.title}` : ''}`),
      h('p', { class: 'muted' }, `Under CAB review; ${plural(item.awaiting.approvals, 'more approval')} needed. Decide it with POST /api/v1/changes/${item.id}/approve or /reject.`),
    );
  }
  return h(
    'article',
    { class: 'card', 'data-step-id': item.id },
    h('h3', {}, `Approval step ${item.nodeId} of ${item.templateName}`),
    h('p', { class: 'muted' }, `Workflow run ${item.runId} waits on your decision since `, time(item.since), ' (decide it through the run’s links.approve and links.reject in the API).'),
  );
}
