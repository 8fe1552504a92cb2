// A page of a UI that signs people in through the users service's OAuth providers and shows who
// is signed in. The service hands the session over as HttpOnly cookies: this page never sees a
// token. It reads with them (GET /users/profile, cookies on safe requests), renews them
// (POST /oauth/session/refresh) and ends them (POST /oauth/session/logout); the service takes the
// last two only from its allowed origins (OAUTH_ALLOWED_REDIRECT_ORIGINS), which must include this
// page's. The service is at ?api=<url>, http://localhost:9002 by default.
'use strict';

const api = new URLSearchParams(location.search).get('api') || 'http://localhost:9002';
const here = location.origin + location.pathname + (new URLSearchParams(location.search).has('api') ? `?api=${encodeURIComponent(api)}` : '');

const call = (path, init = {}) => fetch(api + path, { credentials: 'include', ...init });
const show = (id, visible) => (document.getElementById(id).hidden = !visible);

/** The signed-in user, renewing the session once when the access cookie has expired; null when signed out. */
async function currentUser() {
  let response = await call('/users/profile');
  if (response.status === 401) {
    const renewed = await call('/oauth/session/refresh', { method: 'POST' });
    if (renewed.ok) response = await call('/users/profile');
  }
  return response.ok ? response.json() : null;
}

function showError() {
  const error = new URLSearchParams(location.search).get('error');
  if (!error) return;
  const box = document.getElementById('error');
  box.textContent = `Sign-in failed: ${error}`;
  box.hidden = false;
}

async function showProviders() {
  const settings = await (await call('/oauth/providers')).json();
  const list = document.getElementById('providers');
  list.replaceChildren(
    ...settings.providers.map((provider) => {
      const link = document.createElement('a');
      link.href = `${api}${provider.authorize_url}?redirect_to=${encodeURIComponent(here)}`;
      link.textContent = `Sign in with ${provider.display_name}`;
      return link;
    }),
  );
  show('no-providers', settings.providers.length === 0);
}

function showProfile(user) {
  const rows = [
    ['Name', `${user.first_name} ${user.last_name}`.trim()],
    ['E-mail', user.email],
    ['Username', user.credentials.username ?? '—'],
    ['Signed up with', user.auth_provider ?? 'password'],
    ['Verified', user.verified_at ? 'yes' : 'no'],
  ];
  document.getElementById('profile').replaceChildren(
    ...rows.flatMap(([term, value]) => {
      const dt = document.createElement('dt');
      const dd = document.createElement('dd');
      dt.textContent = term;
      dd.textContent = value;
      return [dt, dd];
    }),
  );
}

async function main() {
  showError();
  const user = await currentUser();
  show('signed-in', Boolean(user));
  show('signed-out', !user);
  if (user) showProfile(user);
  else await showProviders();
}

document.getElementById('sign-out').addEventListener('click', async () => {
  await call('/oauth/session/logout', { method: 'POST' });
  location.replace(here);
});

main().catch((error) => {
  const box = document.getElementById('error');
  box.textContent = `The users service at ${api} did not answer: ${error.message}`;
  box.hidden = false;
});
