import { ApiFailure, api, whenTokenRefused } from './api';
import { h } from './dom';
import { inboxPage } from './inbox';
import { LiveFeed, livePage } from './live';
import { promotionPage, promotionsPage } from './promotions';
import { leaveRunPage, runPage, runsPage } from './runs';
import { session, whoIs } from './session';

/**
 * The console: a sign-in form until a token is given, then the pages by
 * address (#/inbox, #/promotions, #/promotions/<id>, #/runs, #/runs/<id>, #/live). A token the API
 * refuses signs out and says why on the sign-in form.
 */
const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const who = document.getElementById('who') as HTMLElement;
let feed: LiveFeed | undefined;

function signOut(message: string, tone: 'error' | 'notice' = 'error'): void {
  leaveRunPage();
  feed?.stop();
  feed = undefined;
  session.signOut();
  if (location.hash !== '' && location.hash !== '#/') history.replaceState(null, '', '#/');
  signInPage(message, tone);
}

whenTokenRefused((message) => signOut(message));

function signInPage(message = '', tone: 'error' | 'notice' = 'error'): void {
  nav.hidden = true;
  who.hidden = true;
  const token = h('textarea', { id: 'token', name: 'token', rows: 4, required: true, spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'token-help' });
  main.replaceChildren(
    h(
      'section',
      { 'aria-labelledby': 'sign-in-heading' },
      h('h2', { id: 'sign-in-heading' }, 'Sign in'),
      h('p', { class: tone, role: tone === 'error' ? 'alert' : 'status', id: 'sign-in-message' }, message),
      h(
        'form',
        {
          id: 'sign-in',
          onsubmit: (e) => {
            e.preventDefault();
            const value = token.value.trim().replace(/^Bearer\s+/i, '');
            if (!value) return;
            session.signIn(value);
            location.hash = '#/inbox';
            route();
          },
        },
        h('label', { for: 'token' }, 'API token'),
        token,
        h('p', { id: 'token-help', class: 'muted' }, 'Paste a bearer token (locally: npm run -s token -- --user you@example.com --tenant acme --roles release-manager). It is kept in this tab only.'),
        h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
      ),
    ),
  );
  main.dataset.loaded = 'sign-in';
  token.focus();
}

function route(): void {
  const token = session.token();
  if (!token) return signInPage();
  nav.hidden = false;
  who.hidden = false;
  (document.getElementById('who-name') as HTMLElement).textContent = whoIs(token);
  if (!feed) {
    const started = new LiveFeed(token);
    feed = started;
    // Any answer but a 401 means the API took the token (a 403 only says this call needs more).
    api('GET', '/my/pending-approvals?pageSize=1').then(
      () => started.start(),
      (err: unknown) => {
        if (!(err instanceof ApiFailure) || err.status !== 401) started.start();
      },
    );
  }
  const [path = '', query = ''] = location.hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean);
  for (const link of nav.querySelectorAll('a')) {
    if (link.getAttribute('href') === `#/${parts[0] ?? 'inbox'}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  delete main.dataset.loaded;
  leaveRunPage();
  if (parts[0] === 'promotions' && parts[1]) void promotionPage(main, decodeURIComponent(parts[1]));
  else if (parts[0] === 'promotions') void promotionsPage(main, new URLSearchParams(query));
  else if (parts[0] === 'runs' && parts[1]) void runPage(main, decodeURIComponent(parts[1]));
  else if (parts[0] === 'runs') void runsPage(main, new URLSearchParams(query));
  else if (parts[0] === 'live') livePage(main, feed);
  else void inboxPage(main, feed, new URLSearchParams(query));
  main.focus();
}

(document.getElementById('sign-out') as HTMLButtonElement).addEventListener('click', () => signOut('Signed out.', 'notice'));
window.addEventListener('hashchange', route);
route();
