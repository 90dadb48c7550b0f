import { api, explain } from './api';
import { h } from './dom';
import type { Promotion } from './types';

/** Where one item's decision goes: the API calls that approve it and reject it with a reason, answering `T`. */
export interface Decision<T> {
  /** A unique key for the element ids. */
  key: string;
  /** What is decided, in words, for labels (“web 1.2 to prod”, “change 42”). */
  what: string;
  approve: () => Promise<T>;
  reject: (reason: string) => Promise<T>;
}

/**
 * Approve and reject buttons for one item. Reject opens a small form that asks
 * the reason. A refusal (a 403 separation-of-duties refusal, a 409 already
 * decided…) is shown next to the buttons in the API's own words; `decided`
 * runs with the API's answer after it took the decision.
 */
export function decisionButtons<T>(d: Decision<T>, decided: (answer: T) => void): HTMLElement {
  const error = h('p', { class: 'error decision-error', role: 'alert' });
  const reason = h('input', { type: 'text', id: `reason-${d.key}`, name: 'reason', required: true, maxlength: 4000, autocomplete: 'off' });
  const buttons: HTMLButtonElement[] = [];
  const busy = (on: boolean) => buttons.forEach((b) => (b.disabled = on));

  const decide = async (send: () => Promise<T>) => {
    error.textContent = '';
    busy(true);
    try {
      decided(await send());
    } catch (err) {
      error.textContent = explain(err);
    } finally {
      busy(false);
    }
  };

  const rejectForm = h(
    'form',
    {
      class: 'reject-form',
      hidden: true,
      onsubmit: (e) => {
        e.preventDefault();
        void decide(() => d.reject(reason.value.trim()));
      },
    },
    h('label', { for: reason.id }, `Why reject ${d.what}?`),
    reason,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'danger confirm-reject' }, 'Confirm rejection'), h('button', { type: 'button', onclick: () => (rejectForm.hidden = true) }, 'Cancel')),
  );
  const approve = h('button', { type: 'button', class: 'primary approve', 'aria-label': `Approve ${d.what}`, onclick: () => void decide(d.approve) }, 'Approve');
  const reject = h(
    'button',
    {
      type: 'button',
      class: 'danger reject',
      'aria-label': `Reject ${d.what}`,
      onclick: () => {
        rejectForm.hidden = false;
        reason.focus();
      },
    },
    'Reject',
  );
  buttons.push(approve, reject, rejectForm.querySelector('button[type="submit"]') as HTMLButtonElement);
  return h('div', { class: 'decision' }, h('div', { class: 'actions' }, approve, reject), rejectForm, error);
}

/** A promotion's decision: POST /promotions/{id}/approve or /reject with the reason. */
export function decisionControls(p: Pick<Promotion, 'id' | 'releaseName' | 'targetEnvironmentName'>, decided: (updated: Promotion) => void): HTMLElement {
  return decisionButtons(
    {
      key: p.id,
      what: `${p.releaseName} to ${p.targetEnvironmentName}`,
      approve: () => api<Promotion>('POST', `/promotions/${p.id}/approve`, {}),
      reject: (reason) => api<Promotion>('POST', `/promotions/${p.id}/reject`, { reason }),
    },
    decided,
  );
}

/** A change under CAB review: POST /changes/{id}/approve, or /reject with the reason. */
export function changeDecision(c: { id: string; number: number }, decided: () => void): HTMLElement {
  return decisionButtons(
    {
      key: c.id,
      what: `change ${c.number}`,
      approve: () => api<unknown>('POST', `/changes/${c.id}/approve`, {}),
      reject: (reason) => api<unknown>('POST', `/changes/${c.id}/reject`, { reason }),
    },
    decided,
  );
}

/** A workflow run's approval step, decided where the API's links say; a rejection's reason goes as the decision's comment. */
export function stepDecision(step: { runId: string; nodeId: string; links: { approve: string; reject: string } }, decided: () => void): HTMLElement {
  return decisionButtons(
    {
      key: `${step.runId}-${step.nodeId}`,
      what: `step ${step.nodeId} of run ${step.runId}`,
      approve: () => api<unknown>('POST', step.links.approve, {}),
      reject: (comment) => api<unknown>('POST', step.links.reject, { comment }),
    },
    decided,
  );
}
