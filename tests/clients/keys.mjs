// The real seq-logging client against a seqr that requires API keys.
//
// Usage: node keys.mjs <serverUrl> <adminPassword> <runId>
//
// Signs in as the first-run administrator (session cookie + CSRF token, as the UI does),
// creates an Ingest key with MinimumLevel=Warning through api/apikeys, then:
//   1. seq-logging with that key ships Information, Warning and Error events: no error, and only
//      Warning and Error are stored (the key's minimum level), carrying the key's applied property;
//   2. seq-logging without a key is refused (its onError reports the 401);
//   3. a request in seq-logging's own format answers MinimumLevelAccepted "Warning".
// Prints PASS/FAIL lines; exits non-zero on any failure. Called by run.sh.

import { Logger } from 'seq-logging';
import { checks, signIn } from './session.mjs';

const [serverUrl, adminPassword, runId] = process.argv.slice(2);
if (!serverUrl || !adminPassword || !runId) {
  console.error('usage: node keys.mjs <serverUrl> <adminPassword> <runId>');
  process.exit(2);
}

const { check, finish } = checks();

async function api(session, method, path, body) {
  const res = await fetch(`${serverUrl}/${path}`, {
    method,
    headers: { ...session, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function ship(apiKey, tag) {
  const errors = [];
  const logger = new Logger({ serverUrl, apiKey, onError: (e) => errors.push(String(e && e.message ? e.message : e)) });
  const timestamp = new Date();
  for (const level of ['Information', 'Warning', 'Error']) {
    logger.emit({ timestamp, level, messageTemplate: '{Level} from {RunTag}', properties: { Level: level, RunTag: tag } });
  }
  await logger.close();
  return errors;
}

const session = await signIn(serverUrl, adminPassword);
const created = await api(session, 'POST', 'api/apikeys', {
  Title: `seq-logging ${runId}`,
  AssignedPermissions: ['Ingest'],
  InputSettings: {
    AppliedProperties: [{ Name: 'Origin', Value: 'keys.mjs' }],
    Filter: { Description: null, DescriptionIsExcluded: false, Filter: null, FilterNonStrict: null },
    MinimumLevel: 'Warning',
    UseServerTimestamps: false,
  },
});
check(created.status === 201 && typeof created.body.Token === 'string', 'create-key', `status ${created.status}`);
const token = created.body.Token;

const withKey = `${runId}-with-key`;
const errorsWithKey = await ship(token, withKey);
check(errorsWithKey.length === 0, 'seq-logging-with-key', errorsWithKey.join('; ') || 'shipped without error');

const withoutKey = `${runId}-without-key`;
const errorsWithoutKey = await ship(undefined, withoutKey);
check(
  errorsWithoutKey.some((e) => e.includes('401')),
  'seq-logging-without-key-refused',
  errorsWithoutKey.join('; ') || 'no error reported (expected HTTP 401)',
);

// seq-logging's request format, to read the answer it gets.
const raw = await fetch(`${serverUrl}/api/events/raw`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', 'X-Seq-ApiKey': token },
  body: JSON.stringify({ Events: [{ Timestamp: new Date().toISOString(), Level: 'Error', MessageTemplate: 'probe', Properties: { RunTag: `${runId}-probe` } }] }),
});
const answer = await raw.json();
check(
  raw.status === 201 && answer.MinimumLevelAccepted === 'Warning',
  'minimum-level-accepted',
  `${raw.status} ${JSON.stringify(answer)}`,
);

const search = await api(session, 'GET', 'api/events/signal?count=100');
const props = (e) => Object.fromEntries((e.Properties || []).map((p) => [p.Name, p.Value]));
const stored = (search.body?.Events || []).map(props);
const mine = stored.filter((p) => p.RunTag === withKey);
const levels = mine.map((p) => p.Level).sort();
check(
  levels.join(',') === 'Error,Warning' && mine.every((p) => p.Origin === 'keys.mjs'),
  'minimum-level-and-applied-properties',
  `stored ${JSON.stringify(mine)}`,
);
check(!stored.some((p) => p.RunTag === withoutKey), 'nothing-stored-without-key');

const key = await api(session, 'GET', `api/apikeys/${created.body.Id}`);
check(
  key.status === 200 && key.body.Token === null && key.body.Counts.ArrivedEvents === 4 && key.body.Counts.IngestedEvents === 3,
  'key-counters',
  JSON.stringify(key.body && key.body.Counts),
);

finish('key');
