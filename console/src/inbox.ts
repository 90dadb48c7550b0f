import { explain, list } from './api';
import { changeDecision, decisionControls, stepDecision } from './decide';
import { h, loaded, time } from './dom';
import type { LiveFeed } from './live';
import type { PendingItem } from './types';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Events after which the inbox may have changed: a promotion or a change moved, an approval was given, a run's step waits. */
const CHANGES_INBOX = /^(promotion|change|workflow)\./;

/** The API's largest page; `#/inbox?pageSize=N` asks for smaller ones. */
const MAX_PAGE_SIZE = 100;

const keyOf = (item: PendingItem) => `${item.kind}:${item.id}:${item.kind === 'workflow-step' ? '' : item.awaiting.approvals}`;

/**
 * The approvals inbox: what waits on the signed-in person's decision, oldest
 * first, with the decision buttons of each kind (promotions, changes under CAB
 * review, workflow runs' approval steps). It shows one page and a “more”
 * button while the API has further pages; a reload (after a decision, or when
 * the live feed says something moved) asks again for as many pages as shown.
 */
export async function inboxPage(main: HTMLElement, feed: LiveFeed, query: URLSearchParams): Promise<void> {
  const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, Number(query.get('pageSize')) || MAX_PAGE_SIZE));
  const status = h('p', { role: 'status', class: 'muted', id: 'inbox-status' }, 'Loading…');
  const error = h('p', { class: 'error', role: 'alert' });
  const items = h('ul', { class: 'plain', id: 'inbox-items', 'aria-labelledby': 'inbox-heading' });
  const more = h('button', { type: 'button', id: 'inbox-more', hidden: true, onclick: () => void load(pages + 1) }, 'Show more');
  main.replaceChildren(h('section', { 'aria-labelledby': 'inbox-heading' }, h('h2', { id: 'inbox-heading' }, 'Approvals inbox'), status, error, items, h('div', { class: 'actions' }, more)));
  let pages = 1;

  const load = async (upTo = pages): Promise<void> => {
    more.disabled = true;
    try {
      const shown: PendingItem[] = [];
      let total = 0;
      let last = 0;
      for (let page = 1; page <= upTo; page++) {
        const result = await list<PendingItem>(`/my/pending-approvals?pageSize=${pageSize}&page=${page}`);
        shown.push(...result.data);
        total = result.totalItems;
        last = result.totalPages;
        if (page >= result.totalPages) break;
      }
      // An item can move to an earlier page while pages are read one by one: it is shown once.
      const unique = [...new Map(shown.map((item) => [`${item.kind}:${item.id}`, item])).values()];
      pages = Math.max(1, Math.min(upTo, last));
      // Cards still waiting keep their element, so a reason being typed or a refusal shown survives a reload.
      const kept = new Map([...items.children].map((li) => [(li as HTMLElement).dataset.key, li]));
      items.replaceChildren(...unique.map((item) => kept.get(keyOf(item)) ?? h('li', { 'data-key': keyOf(item) }, card(item, () => void load()))));
      error.textContent = '';
      status.textContent = total === 0 ? 'Nothing waits on your decision.' : `${plural(total, 'item')} waiting on your decision${unique.length < total ? `; showing ${unique.length}` : ''}.`;
      more.hidden = unique.length >= total;
    } catch (err) {
      status.textContent = '';
      error.textContent = explain(err);
    }
    more.disabled = false;
    main.dataset.inboxPages = String(pages);
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

const requested = (by: string, email: string | null | undefined, at: string, reason?: string | null): HTMLElement =>
  h('p', {}, 'Requested by ', email ?? by, ' at ', time(at), reason ? `: “${reason}”` : '');

function card(item: PendingItem, reload: () => void): HTMLElement {
  if (item.kind === 'promotion') {
    const missing = item.awaiting.approvals;
    return h(
      'article',
      { class: 'card', 'data-promotion-id': item.id, 'aria-labelledby': `p-${item.id}` },
      h('h3', { id: `p-${item.id}` }, h('a', { href: `#/promotions/${item.id}` }, `${item.releaseName} → ${item.targetEnvironmentName}`)),
      requested(item.requestedBy, item.requestedByEmail, item.requestedAt, item.reason),
      h(
        'p',
        { class: 'muted' },
        `${plural(missing, 'more approval')} needed`,
        item.awaiting.approverGroups.length ? ` from ${item.awaiting.approverGroups.join(', ')}` : '',
        item.expiresAt ? '; expires ' : '',
        item.expiresAt ? time(item.expiresAt) : '',
      ),
      decisionControls(item, reload),
    );
  }
  if (item.kind === 'change') {
    return h(
      'article',
      { class: 'card', 'data-change-id': item.id, 'aria-labelledby': `c-${item.id}` },
      h('h3', { id: `c-${item.id}` }, `Change ${item.number}: ${item.short_description}`),
      requested(item.requested_by, null, item.created_at),
      h(
        'p',
        { class: 'muted' },
        `${item.type} change under CAB review; ${plural(item.awaiting.approvals, 'more approval')} needed`,
        item.awaiting.approvers.length ? ` (waiting on ${item.awaiting.approvers.join(', ')})` : '',
        item.scheduled_start ? '; window from ' : '',
        item.scheduled_start ? time(item.scheduled_start) : '',
        item.scheduled_end ? ' to ' : '',
        item.scheduled_end ? time(item.scheduled_end) : '',
      ),
      changeDecision(item, reload),
    );
  }
  return h(
    'article',
    { class: 'card', 'data-step-id': item.id, 'data-run-id': item.runId, 'aria-labelledby': `s-${item.runId}-${item.nodeId}` },
    h('h3', { id: `s-${item.runId}-${item.nodeId}` }, `Approval step ${item.nodeId} of a `, h('a', { href: `#/runs/${item.runId}` }, `${item.templateName} run`)),
    h('p', {}, 'Run requested by ', item.requestedByEmail ?? item.requestedBy, '; waiting since ', time(item.since)),
    item.approval.message ? h('p', {}, `“${item.approval.message}”`) : '',
    h(
      'p',
      { class: 'muted' },
      `${plural(item.awaiting.approvals, 'more approval')} needed`,
      item.awaiting.approverGroups.length ? ` from ${item.awaiting.approverGroups.join(', ')}` : '',
      item.approval.expiresAt ? '; expires ' : '',
      item.approval.expiresAt ? time(item.approval.expiresAt) : '',
    ),
    stepDecision(item, reload),
  );
}
