import { explain, list } from './api';
import { decisionControls } from './decide';
import { h, loaded, time } from './dom';
import type { LiveFeed } from './live';
import type { PendingItem } from './types';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Events after which the inbox may have changed: a promotion or a change moved, an approval was given, a run's step waits. */
const CHANGES_INBOX = /^(promotion|change|workflow)\./;

/** The approvals inbox: what waits on the signed-in person's decision, oldest first, reloaded when the live feed says something moved. */
export async function inboxPage(main: HTMLElement, feed: LiveFeed): Promise<void> {
  const status = h('p', { role: 'status', class: 'muted', id: 'inbox-status' }, 'Loading…');
  const error = h('p', { class: 'error', role: 'alert' });
  const items = h('ul', { class: 'plain', id: 'inbox-items', 'aria-labelledby': 'inbox-heading' });
  main.replaceChildren(h('section', { 'aria-labelledby': 'inbox-heading' }, h('h2', { id: 'inbox-heading' }, 'Approvals inbox'), status, error, items));

  const load = async () => {
    try {
      const page = await list<PendingItem>('/my/pending-approvals?pageSize=100');
      // Cards still waiting keep their element, so a reason being typed or a refusal shown survives a reload.
      const kept = new Map([...items.children].map((li) => [(li as HTMLElement).dataset.key, li]));
      const keyOf = (item: PendingItem) => `${item.kind}:${item.id}:${item.kind === 'workflow-step' ? '' : item.awaiting.approvals}`;
      items.replaceChildren(...page.data.map((item) => kept.get(keyOf(item)) ?? h('li', { 'data-key': keyOf(item) }, card(item, load))));
      error.textContent = '';
      status.textContent = page.totalItems === 0 ? 'Nothing waits on your decision.' : `${plural(page.totalItems, 'item')} waiting on your decision.`;
    } catch (err) {
      status.textContent = '';
      error.textContent = explain(err);
    }
    loaded(main, items, 'inbox');
  };
  let pending: number | undefined;
  feed.listen((e) => {
    if (!items.isConnected) return false;
    if (CHANGES_INBOX.test(e.event)) {
      window.clearTimeout(pending);
      pending = window.setTimeout(() => void load(), 250);
    }
    return true;
  });
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
