// The pages the users service's mails link to (PASSWORD_RESET_URL_PREFIX → reset-password.html,
// INVITE_URL_PREFIX → set-password.html): the link carries ?token=…, and the page sends it with the new
// password to PUT /password/reset, which takes either kind of token. The service is at ?api=<url>,
// http://localhost:9002 by default; this page's origin must be allowed (OAUTH_ALLOWED_REDIRECT_ORIGINS).
'use strict';

const params = new URLSearchParams(location.search);
const api = params.get('api') || 'http://localhost:9002';
const token = params.get('token');

const MESSAGES = {
  LINK_TOKEN_EXPIRED: 'This link has expired: ask for a new one.',
  LINK_TOKEN_USED: 'This link was already used: ask for a new one.',
  LINK_TOKEN_INVALID: 'This link is not valid (a newer one may have replaced it).',
  LINK_TOKEN_WRONG_TYPE: 'This link is not a password link.',
};

function showError(message) {
  const box = document.getElementById('error');
  box.textContent = message;
  box.hidden = false;
}

document.getElementById('password-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const body = { token, password: form.get('password'), confirm_password: form.get('confirm_password') };
  if (body.password !== body.confirm_password) return showError('The two passwords differ.');
  try {
    const response = await fetch(`${api}/password/reset`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (response.ok) {
      event.target.hidden = true;
      document.getElementById('error').hidden = true;
      document.getElementById('done').hidden = false;
      return;
    }
    const error = await response.json();
    showError(MESSAGES[error.code] ?? error.details?.map((d) => `${d.field}: ${d.problem}`).join('; ') ?? error.message);
  } catch (error) {
    showError(`The users service at ${api} did not answer: ${error.message}`);
  }
});

if (!token) {
  document.getElementById('password-form').hidden = true;
  showError('This page needs the link from your e-mail (it carries a token).');
}
