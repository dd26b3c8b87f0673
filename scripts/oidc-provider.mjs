// A real OpenID Connect provider on loopback, for Peerplan's single sign-on tests: npm `oidc-provider` (pinned by
// scripts/install.sh into tools/oidc), one static confidential client, PKCE required, a fixed set of test accounts
// with `groups` claims, and a minimal login + consent interaction that checks one fixed password. No internet:
// keys are generated at start, everything is kept in memory.
//
//   node scripts/oidc-provider.mjs [PORT] [--exit-with-stdin]
//
// Listens on 127.0.0.1:PORT (PORT from argv, else $OIDC_PORT, else 0 = any free port) and prints one line
// `oidc-provider issuer http://127.0.0.1:PORT` once it answers. `--exit-with-stdin` stops it when its standard input
// closes (a test that pipes it cannot leave it behind). Environment:
//   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET   the client (default peerplan / peerplan-test-secret)
//   OIDC_REDIRECT_URIS                   its redirect URIs, comma-separated
//                                        (default http://127.0.0.1:3000/login/oidc/callback)
//   OIDC_SECOND_CLIENT_ID, OIDC_SECOND_CLIENT_SECRET   optional second client (same redirect URIs), for audience tests
//   OIDC_TEST_PASSWORD                   the password of every account (default peerplan-test-password)
//   OIDC_CLAIMS_IN                       `id_token` (default): requested claims, `groups` included, go into the ID
//                                        token too; `userinfo`: only into the UserInfo response, as many providers do
//   PEERPLAN_OIDC_TOOLS                  folder holding node_modules/oidc-provider (default <repo>/tools/oidc)
// Accounts: alice (groups ["netops"]), bob (["planners"]), carol ([]: no role), dave ("planners" as a string, not an
// array), erin (["auditors", "netops-admins"]).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const tools = process.env.PEERPLAN_OIDC_TOOLS || join(here, '..', 'tools', 'oidc');
const { default: Provider } = await import(
  pathToFileURL(join(tools, 'node_modules', 'oidc-provider', 'lib', 'index.js')).href
);

const args = process.argv.slice(2);
const exitWithStdin = args.includes('--exit-with-stdin');
const portArg = args.find((a) => !a.startsWith('--')) ?? process.env.OIDC_PORT ?? '0';
const port = Number(portArg);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`oidc-provider: "${portArg}" is not a port number`);
  process.exit(2);
}

const env = (name, fallback) => process.env[name] || fallback;
const password = env('OIDC_TEST_PASSWORD', 'peerplan-test-password');
const redirectUris = env('OIDC_REDIRECT_URIS', 'http://127.0.0.1:3000/login/oidc/callback')
  .split(',')
  .map((u) => u.trim())
  .filter(Boolean);
const claimsIn = env('OIDC_CLAIMS_IN', 'id_token');
if (!['id_token', 'userinfo'].includes(claimsIn)) {
  console.error(`oidc-provider: OIDC_CLAIMS_IN "${claimsIn}" is neither id_token nor userinfo`);
  process.exit(2);
}

const client = (id, secret) => ({
  client_id: id,
  client_secret: secret,
  redirect_uris: redirectUris,
  grant_types: ['authorization_code'],
  response_types: ['code'],
});
const clients = [client(env('OIDC_CLIENT_ID', 'peerplan'), env('OIDC_CLIENT_SECRET', 'peerplan-test-secret'))];
if (process.env.OIDC_SECOND_CLIENT_ID) {
  clients.push(client(process.env.OIDC_SECOND_CLIENT_ID, env('OIDC_SECOND_CLIENT_SECRET', 'second-test-secret')));
}

const accounts = {
  alice: { name: 'Alice Example', email: 'alice@example.test', groups: ['netops'] },
  bob: { name: 'Bob Example', email: 'bob@example.test', groups: ['planners'] },
  carol: { name: 'Carol Example', email: 'carol@example.test', groups: [] },
  dave: { name: 'Dave Example', email: 'dave@example.test', groups: 'planners' },
  erin: { name: 'Erin Example', email: 'erin@example.test', groups: ['auditors', 'netops-admins'] },
};

// A fresh signing key per start (RS256, the algorithm every relying party supports).
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };

const server = createServer();
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    scopes: ['openid', 'profile', 'email', 'groups'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    conformIdTokenClaims: claimsIn === 'userinfo',
    async findAccount(_ctx, id) {
      const account = accounts[id];
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            preferred_username: id,
            name: account.name,
            email: account.email,
            email_verified: true,
            groups: account.groups,
          };
        },
      };
    },
  });
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error', err));
  const oidc = provider.callback();

  server.on('request', async (req, res) => {
    const url = new URL(req.url, issuer);
    const m = url.pathname.match(/^\/interaction\/([A-Za-z0-9_-]+)(\/login|\/confirm|\/abort)?$/);
    if (!m) {
      oidc(req, res);
      return;
    }
    try {
      await interaction(provider, req, res, m[1], m[2] ?? '');
    } catch (err) {
      page(res, 400, 'Error', `<p>${escape(err.message ?? String(err))}</p>`);
    }
  });
  console.log(`oidc-provider issuer ${issuer}`);
});

if (exitWithStdin) {
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
}
process.on('SIGTERM', () => process.exit(0));

async function interaction(provider, req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('this sign-in belongs to another interaction');
  const { prompt, params } = details;
  if (req.method === 'GET' && action === '') {
    if (prompt.name === 'login') return loginForm(res, uid, '');
    if (prompt.name === 'consent') return consentForm(res, uid, params.client_id, params.scope);
    throw new Error(`unsupported prompt ${prompt.name}`);
  }
  if (req.method !== 'POST') throw new Error('method not allowed');
  const body = new URLSearchParams(await readBody(req));
  if (action === '/login') {
    if (prompt.name !== 'login') throw new Error('no sign-in is pending');
    const login = body.get('login') ?? '';
    if (!Object.hasOwn(accounts, login) || body.get('password') !== password) {
      return loginForm(res, uid, 'Invalid login or password.', 401);
    }
    return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
  }
  if (action === '/confirm') {
    if (prompt.name !== 'consent') throw new Error('no consent is pending');
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  // /abort: the person declined.
  return provider.interactionFinished(
    req,
    res,
    { error: 'access_denied', error_description: 'End-User aborted interaction' },
    { mergeWithLastSubmission: false },
  );
}

function loginForm(res, uid, error, status = 200) {
  page(
    res,
    status,
    'Sign-in',
    `${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
  <label>Login <input name="login" autocomplete="username" required></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <button type="submit">Sign in</button>
</form>`,
  );
}

function consentForm(res, uid, clientId, scope) {
  page(
    res,
    200,
    'Authorize',
    `<p>${escape(clientId)} asks for: ${escape(scope)}</p>
<form method="post" action="/interaction/${escape(uid)}/confirm"><button type="submit">Continue</button></form>
<form method="post" action="/interaction/${escape(uid)}/abort"><button type="submit">Cancel</button></form>`,
  );
}

function page(res, status, title, body) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(`<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head><body>
<h1>${escape(title)}</h1>
${body}
</body></html>`);
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      data += chunk;
      if (data.length > 16384) reject(new Error('request body too large'));
    });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}
