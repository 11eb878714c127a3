import { useEffect, useState } from "preact/hooks";
import { api, ApiError, rememberCsrfToken, type RootDocument, type User } from "./api";
import { SignIn } from "./SignIn";

type Session = { kind: "loading" } | { kind: "signed-out" } | { kind: "signed-in"; user: User };

/// The application shell: who is signed in decides what is shown. Everything is rendered as
/// text by Preact (no HTML from data), so event content can never run script.
export function App() {
  const [root, setRoot] = useState<RootDocument | null>(null);
  const [session, setSession] = useState<Session>({ kind: "loading" });
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api<RootDocument>("GET", "/api")
      .then(setRoot)
      .catch((e: Error) => setError(e.message));
    api<User>("GET", "/api/users/current")
      .then((user) => setSession({ kind: "signed-in", user }))
      .catch((e: unknown) => {
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
          setSession({ kind: "signed-out" });
        } else {
          setError(e instanceof Error ? e.message : String(e));
          setSession({ kind: "signed-out" });
        }
      });
  }, []);

  useEffect(() => {
    document.title = root?.InstanceName ? `${root.InstanceName} — seqr` : "seqr";
  }, [root]);

  const signOut = async () => {
    try {
      await api("POST", "/api/users/logout");
    } finally {
      rememberCsrfToken(null);
      setSession({ kind: "signed-out" });
    }
  };

  return (
    <div class="shell">
      <header class="bar">
        <span class="brand">seqr</span>
        {root?.InstanceName && <span class="instance">{root.InstanceName}</span>}
        {session.kind === "signed-in" && (
          <span class="who">
            {session.user.DisplayName || session.user.Username}
            <button type="button" onClick={signOut}>
              Sign out
            </button>
          </span>
        )}
      </header>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <main>
        {session.kind === "loading" && <p class="muted">Loading…</p>}
        {session.kind === "signed-out" && (
          <SignIn
            title={root?.InstanceName ?? null}
            onSignedIn={(user) => {
              rememberCsrfToken(user.CsrfToken ?? null);
              setSession({ kind: "signed-in", user });
            }}
          />
        )}
        {session.kind === "signed-in" && (
          <p class="muted">
            Signed in as <strong>{session.user.Username}</strong>. The event search comes next.
          </p>
        )}
      </main>
    </div>
  );
}
