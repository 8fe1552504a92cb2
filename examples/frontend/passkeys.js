// A page that registers passkeys and signs in with them through the users service (#16): a password
// sign-in (answering the MFA challenge with a passkey when the account has a second factor), a
// passkey sign-in without a password, and adding a passkey while signed in. The browser's WebAuthn
// JSON helpers (PublicKeyCredential.parseCreationOptionsFromJSON, parseRequestOptionsFromJSON and
// credential.toJSON()) turn the service's options and the authenticator's answers into JSON; the
// session's tokens are kept in sessionStorage. The service is at ?api=<url>, http://localhost:9002 by
// default; this page's origin must be in its USERS_WEBAUTHN_ORIGINS (and OAUTH_ALLOWED_REDIRECT_ORIGINS
// for CORS), and its host be USERS_WEBAUTHN_RP_ID or under it.
'use strict';

const api = new URLSearchParams(location.search).get('api') || 'http://localhost:9002';
const show = (id, visible) => (document.getElementById(id).hidden = !visible);
let mfaToken = null;

async function call(path, body, token = sessionStorage.getItem('access_token')) {
  const response = await fetch(api + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = response.status === 204 ? {} : await response.json();
  if (!response.ok) throw new Error(`${answer.code}: ${answer.message}`);
  return answer;
}

const create = async (options) => (await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) })).toJSON();
const get = async (options) => (await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) })).toJSON();

function signedIn(pair) {
  sessionStorage.setItem('access_token', pair.access_token);
  mfaToken = null;
  return render();
}

async function render() {
  show('error', false);
  show('second-factor', mfaToken !== null);
  const token = sessionStorage.getItem('access_token');
  const user = token ? await call('/users/profile').catch(() => null) : null;
  show('signed-out', !user && mfaToken === null);
  show('signed-in', Boolean(user));
  if (!user) return;
  const claims = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
  const rows = { 'E-mail': user.email, Assurance: claims.aal, Methods: (claims.amr || []).map((entry) => entry.method).join(', ') };
  document.getElementById('profile').replaceChildren(...Object.entries(rows).flatMap(([term, value]) => {
    const dt = document.createElement('dt');
    const dd = document.createElement('dd');
    dt.textContent = term;
    dd.textContent = value;
    return [dt, dd];
  }));
  const { factors } = await call('/users/mfa/factors');
  document.getElementById('passkeys').replaceChildren(...factors.filter((factor) => factor.factor_type === 'webauthn').map((factor) => {
    const li = document.createElement('li');
    li.textContent = factor.friendly_name || 'Passkey';
    return li;
  }));
}

function failed(error) {
  const box = document.getElementById('error');
  box.textContent = error.message;
  box.hidden = false;
}

const on = (id, event, handler) => document.getElementById(id).addEventListener(event, (e) => {
  e.preventDefault();
  handler(e).catch(failed);
});

on('password-form', 'submit', async (e) => {
  const form = new FormData(e.target);
  const answer = await call('/users/tokens/issue', { identity: form.get('identity'), secret: form.get('secret') }, null);
  if (!answer.mfa_required) return signedIn(answer);
  mfaToken = answer.mfa_token;
  return render();
});

on('passkey-second-factor', 'click', async () => {
  const { challenge_id, options } = await call('/users/tokens/mfa/passkey-options', { mfa_token: mfaToken }, null);
  return signedIn(await call('/users/tokens/mfa', { mfa_token: mfaToken, challenge_id, webauthn: await get(options) }, null));
});

on('passkey-sign-in', 'click', async () => {
  const { challenge_id, options } = await call('/users/tokens/passkey/options', {}, null);
  return signedIn(await call('/users/tokens/passkey', { challenge_id, response: await get(options) }, null));
});

on('add-passkey', 'submit', async (e) => {
  const { challenge_id, options } = await call('/users/mfa/passkeys/options', {});
  await call('/users/mfa/passkeys', { challenge_id, response: await create(options), friendly_name: new FormData(e.target).get('name') });
  return render();
});

on('sign-out', 'click', async () => {
  await call('/users/logout', {});
  sessionStorage.removeItem('access_token');
  return render();
});

render().catch(failed);
