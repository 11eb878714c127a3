// Creates an API key on a seqr that requires sign-in and prints its token, for the scripts
// that are not written in JS (otel_grpc.py).
//
// Usage: node apikey.mjs <serverUrl> <adminPassword> <title> <permission> [permission ...]
// Signs in as the first-run administrator (session.mjs) and POSTs api/apikeys with the given
// AssignedPermissions (e.g. Ingest Read). Prints the token on stdout; exits non-zero on failure.

import { signIn } from './session.mjs';

const [serverUrl, adminPassword, title, ...permissions] = process.argv.slice(2);
if (!serverUrl || !adminPassword || !title || permissions.length === 0) {
  console.error('usage: node apikey.mjs <serverUrl> <adminPassword> <title> <permission> [permission ...]');
  process.exit(2);
}

const session = await signIn(serverUrl, adminPassword);
const res = await fetch(`${serverUrl}/api/apikeys`, {
  method: 'POST',
  headers: { ...session, 'Content-Type': 'application/json' },
  body: JSON.stringify({ Title: title, AssignedPermissions: permissions }),
});
const body = await res.json().catch(() => null);
if (res.status !== 201 || typeof body?.Token !== 'string') {
  console.error(`apikey.mjs: POST api/apikeys answered ${res.status}: ${JSON.stringify(body)}`);
  process.exit(1);
}
console.log(body.Token);
