// Shared by the scripts that drive a seqr requiring sign-in: PASS/FAIL reporting and an
// administrator session (cookie plus CSRF header) for creating API keys.

/** PASS/FAIL lines; `finish(what)` prints the summary and exits non-zero on any failure. */
export function checks() {
  let failed = 0;
  return {
    check(ok, name, detail) {
      console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
      if (!ok) failed += 1;
    },
    finish(what) {
      console.log(`${failed === 0 ? 'all' : failed} ${what} check(s) ${failed === 0 ? 'passed' : 'failed'}`);
      process.exit(failed === 0 ? 0 : 1);
    },
  };
}

/** Signs in as `admin`; returns the headers that authenticate as that session. */
export async function signIn(serverUrl, adminPassword) {
  const res = await fetch(`${serverUrl}/api/users/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ Username: 'admin', Password: adminPassword }),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`sign-in answered ${res.status}: ${JSON.stringify(body)}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  return { Cookie: cookie, 'X-Seq-CsrfToken': body.CsrfToken };
}
