// Legacy filter forms, as seq-logging's own integration test reads its events back.
//
// Usage: node legacy_filters.mjs <serverUrl> <adminPassword> <runId>
//
// Against a seqr that requires API keys: signs in as the first-run administrator, creates an
// Ingest key and a Read key, logs two events with the real seq-logging client (a `testMarker`
// holding a backslash and double quotes, and a decoy whose `\t` is a real tab), flushes, then
// reads them back with the Read key through the legacy `GET api/events` array exactly as
// seq-logging's test suite does (`filter=Equal(testMarker, @"<marker>")`, verbatim string with
// `""` for a quote), and with `Has(testMarker)`, the `==`/`&&` operators and a C#-escaped
// string. Prints PASS/FAIL lines; exits non-zero on any failure. Called by run.sh.

import { Logger } from 'seq-logging';
import { checks, signIn } from './session.mjs';

const [serverUrl, adminPassword, runId] = process.argv.slice(2);
if (!serverUrl || !adminPassword || !runId) {
  console.error('usage: node legacy_filters.mjs <serverUrl> <adminPassword> <runId>');
  process.exit(2);
}

const { check, finish } = checks();

async function createKey(session, title, permissions) {
  const res = await fetch(`${serverUrl}/api/apikeys`, {
    method: 'POST',
    headers: { ...session, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      Title: title,
      AssignedPermissions: permissions,
      InputSettings: {
        AppliedProperties: [],
        Filter: { Description: null, DescriptionIsExcluded: false, Filter: null, FilterNonStrict: null },
        MinimumLevel: null,
        UseServerTimestamps: false,
      },
    }),
  });
  const body = await res.json();
  if (res.status !== 201 || typeof body.Token !== 'string') {
    throw new Error(`creating the ${permissions} key answered ${res.status}: ${JSON.stringify(body)}`);
  }
  return body.Token;
}

// GET api/events?filter=..&count=.. with an API key, as seq-logging's test does.
async function legacyEvents(filter, apiKey, count = 10) {
  const query = new URLSearchParams({ count: String(count), filter });
  const headers = apiKey ? { 'X-Seq-ApiKey': apiKey } : {};
  const res = await fetch(`${serverUrl}/api/events?${query}`, { headers });
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

const markerOf = (e) => (e.Properties || []).find((p) => p.Name === 'testMarker')?.Value;
const verbatim = (s) => `@"${s.replaceAll('"', '""')}"`;
const escaped = (s) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;

const session = await signIn(serverUrl, adminPassword);
const ingestKey = await createKey(session, `legacy filters ingest ${runId}`, ['Ingest']);
const readKey = await createKey(session, `legacy filters read ${runId}`, ['Read']);

const unique = `${runId}-${Math.random().toString(36).slice(2)}`;
const marker = `${unique} C:\\temp\\"quoted" end`; // a backslash, `\t` as two characters, quotes
const decoy = marker.replace('\\t', '\t'); // what `\t` would mean if it were an escape

const errors = [];
const logger = new Logger({
  serverUrl,
  apiKey: ingestKey,
  maxBatchingTime: 1,
  onError: (e) => errors.push(String(e && e.message ? e.message : e)),
});
for (const testMarker of [marker, decoy]) {
  logger.emit({
    level: 'Error',
    timestamp: new Date(),
    messageTemplate: 'Event produced by integration test',
    exception: 'Some error at some file on some line',
    properties: { testMarker },
  });
}
await logger.close();
check(errors.length === 0, 'seq-logging-shipped', errors.join('; ') || 'two events, no error');

const expectMarkers = async (name, filter, want, count = 10) => {
  const r = await legacyEvents(filter, readKey, count);
  const got = Array.isArray(r.body) ? r.body.map(markerOf) : null;
  const ok = r.status === 200 && got !== null && got.length === want.length
    && [...got].sort().join('\n') === [...want].sort().join('\n');
  check(ok, name, `filter ${filter} -> ${r.status} ${JSON.stringify(got ?? r.body)}`);
};

// Exactly seq-logging's integration test: count=1, Equal with a verbatim string.
await expectMarkers('equal-verbatim-count-1', `Equal(testMarker, ${verbatim(marker)})`, [marker], 1);
await expectMarkers('equal-verbatim', `Equal(testMarker, ${verbatim(marker)})`, [marker]);
await expectMarkers('equal-verbatim-decoy', `Equal(testMarker, ${verbatim(decoy)})`, [decoy]);
await expectMarkers('equal-escaped', `Equal(testMarker, ${escaped(marker)})`, [marker]);
// In a C#-escaped string `\t` is a tab, so the unescaped text names the decoy.
await expectMarkers('equal-escape-is-tab', `Equal(testMarker, "${unique} C:\\temp\\\\\\"quoted\\" end")`, [decoy]);
await expectMarkers('has', 'Has(testMarker)', [marker, decoy]);
await expectMarkers('double-equals-and', `testMarker == ${verbatim(marker)} && Has(testMarker)`, [marker]);
await expectMarkers('not-equal-and', `testMarker != ${verbatim(marker)} && Has(testMarker)`, [decoy]);

const noKey = await legacyEvents(`Equal(testMarker, ${verbatim(marker)})`, undefined);
check(noKey.status === 401, 'read-without-key-refused', `status ${noKey.status}`);
const ingestOnly = await legacyEvents(`Equal(testMarker, ${verbatim(marker)})`, ingestKey);
check(ingestOnly.status === 403, 'read-with-ingest-key-refused', `status ${ingestOnly.status}`);

finish('legacy filter');
