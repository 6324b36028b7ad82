/*
 * The inbox's only script (served from this origin; the Content-Security-Policy allows no other). It runs the
 * passkey ceremonies with @simplewebauthn/browser and posts their answers; the server builds every payload signed.
 */
'use strict';
(function () {
  const { startAuthentication, startRegistration } = window.SimpleWebAuthnBrowser;
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') || '';
  const say = (text, where) => {
    (where || document.getElementById('message')).textContent = text;
  };

  async function post(url, body) {
    const res = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf() },
      body: JSON.stringify(body || {}),
    });
    const json = await res.json().catch(() => ({ ok: false, message: `The server answered ${res.status}.` }));
    if (!res.ok) throw new Error(json.message || `The server answered ${res.status}.`);
    return json;
  }

  async function login() {
    const { ticket, options } = await post('/api/login/options');
    const response = await startAuthentication({ optionsJSON: options });
    await post('/api/login', { ticket, response });
    window.location.assign('/');
  }

  async function enrol() {
    const token = window.location.hash.slice(1);
    const { ticket, options } = await post('/api/enrol/options', { token });
    const response = await startRegistration({ optionsJSON: options });
    const { approver } = await post('/api/enrol', { ticket, response });
    history.replaceState(null, '', '/enrol');
    say(`Passkey enrolled for ${approver}. You can now sign in.`);
  }

  /** One decision: the server builds the payload, the passkey signs its hash, the workflow judges it. */
  async function decide(actionId, planHash, decision, reason, where) {
    const { ticket, options } = await post('/api/decisions/options', { actionId, planHash, decision, reason });
    const response = await startAuthentication({ optionsJSON: options });
    const { attempt } = await post('/api/decisions', { ticket, response });
    const text = attempt.accepted
      ? `${decision === 'approve' ? 'Approved' : 'Rejected'} as ${attempt.approver}.`
      : `Refused (${attempt.refusal && attempt.refusal.code}): ${attempt.refusal && attempt.refusal.message}`;
    say(text, where);
    if (where) where.dataset.result = attempt.accepted ? 'accepted' : 'refused';
    return attempt;
  }

  async function single(decision) {
    const section = document.querySelector('section.decide');
    const reason = section.querySelector('input[name="reason"]').value;
    const outcome = section.querySelector('.outcome');
    await decide(section.dataset.actionId, section.dataset.planHash, decision, reason, outcome);
  }

  async function batch(decision) {
    const reason = document.getElementById('batch-reason').value;
    for (const item of document.querySelectorAll('article.batch-item')) {
      const outcome = item.querySelector('.outcome');
      try {
        await decide(item.dataset.actionId, item.dataset.planHash, decision, reason, outcome);
      } catch (err) {
        say(err.message, outcome);
        outcome.dataset.result = 'error';
      }
    }
    say('Done.');
  }

  const actions = {
    login,
    enrol,
    logout: async () => {
      await post('/api/logout');
      window.location.assign('/login');
    },
    approve: () => single('approve'),
    reject: () => single('reject'),
    'batch-approve': () => batch('approve'),
    'batch-reject': () => batch('reject'),
  };

  document.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    if (!button) return;
    const run = actions[button.dataset.action];
    if (!run) return;
    button.disabled = true;
    say('');
    Promise.resolve(run())
      .catch((err) => {
        const where = button.closest('section.decide')?.querySelector('.outcome');
        say(err.message, where);
        if (where) where.dataset.result = 'error';
      })
      .finally(() => {
        button.disabled = false;
      });
  });
})();
