import { api, explain } from './api';
import { h } from './dom';
import type { Promotion } from './types';

/**
 * Approve and reject buttons for one promotion. Reject opens a small form
 * that asks the reason (the API requires one). A refusal (a 403 separation-of-
 * duties refusal, a 409 already decided…) is shown next to the buttons in the
 * API's own words; `decided` runs after the API took the decision.
 */
export function decisionControls(p: Pick<Promotion, 'id' | 'releaseName' | 'targetEnvironmentName'>, decided: (updated: Promotion) => void): HTMLElement {
  const what = `${p.releaseName} to ${p.targetEnvironmentName}`;
  const error = h('p', { class: 'error decision-error', role: 'alert' });
  const reason = h('input', { type: 'text', id: `reason-${p.id}`, name: 'reason', required: true, maxlength: 4000, autocomplete: 'off' });
  const buttons: HTMLButtonElement[] = [];
  const busy = (on: boolean) => buttons.forEach((b) => (b.disabled = on));

  const decide = async (verb: 'approve' | 'reject', body: Record<string, string>) => {
    error.textContent = '';
    busy(true);
    try {
      decided(await api<Promotion>('POST', `/promotions/${p.id}/${verb}`, body));
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
        void decide('reject', { reason: reason.value.trim() });
      },
    },
    h('label', { for: reason.id }, `Why reject ${what}?`),
    reason,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'danger confirm-reject' }, 'Confirm rejection'), h('button', { type: 'button', onclick: () => (rejectForm.hidden = true) }, 'Cancel')),
  );
  const approve = h('button', { type: 'button', class: 'primary approve', 'aria-label': `Approve ${what}`, onclick: () => void decide('approve', {}) }, 'Approve');
  const reject = h(
    'button',
    {
      type: 'button',
      class: 'danger reject',
      'aria-label': `Reject ${what}`,
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
