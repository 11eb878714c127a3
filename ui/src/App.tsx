import { useEffect, useState } from "preact/hooks";
import { api, ApiError, rememberCsrfToken, type RootDocument, type User } from "./api";
import { SignIn } from "./SignIn";
import { useRoute, href } from "./route";
import { EventsPage } from "./events/EventsPage";
import { EventPage } from "./events/EventPage";
import { Settings, visibleAdminPages } from "./admin/Settings";
import { Profile } from "./admin/Profile";
import { applyTheme, type Theme } from "./theme";
import { setTimeZone } from "./time";

type Session = { kind: "loading" } | { kind: "signed-out" } | { kind: "signed-in"; user: User; permissions: Set<string> };

interface Role {
  Id: string;
  Permissions: string[];
}

/// What the user's roles grant, so the UI shows only what the server would allow (the server
/// still checks every request).
async function permissionsOf(user: User): Promise<Set<string>> {
  try {
    const roles = await api<Role[]>("GET", "/api/roles");
    const mine = new Set(user.RoleIds ?? []);
    return new Set(roles.filter((r) => mine.has(r.Id)).flatMap((r) => r.Permissions));
  } catch {
    return new Set();
  }
}

/// The application shell: who is signed in decides what is shown. Everything is rendered as
/// text by Preact (no HTML from data), so event content can never run script.
export function App() {
  const [root, setRoot] = useState<RootDocument | null>(null);
  const [session, setSession] = useState<Session>({ kind: "loading" });
  const [error, setError] = useState<string | null>(null);
  const route = useRoute();

  const signedIn = async (user: User) => {
    const theme = user.Preferences?.theme as Theme | undefined;
    if (theme) applyTheme(theme);
    if (user.Preferences?.timeZone !== undefined) setTimeZone(user.Preferences.timeZone || null);
    setSession({ kind: "signed-in", user, permissions: await permissionsOf(user) });
  };
  const loadRoot = () =>
    api<RootDocument>("GET", "/api")
      .then(setRoot)
      .catch((e: Error) => setError(e.message));

  useEffect(() => {
    void loadRoot();
    api<User>("GET", "/api/users/current")
      .then(signedIn)
      .catch((e: unknown) => {
        if (!(e instanceof ApiError && (e.status === 401 || e.status === 403))) {
          setError(e instanceof Error ? e.message : String(e));
        }
        setSession({ kind: "signed-out" });
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

  const section = route.path.split("/")[0];
  return (
    <div class="shell">
      <header class="bar">
        <span class="brand">seqr</span>
        {root?.InstanceName && <span class="instance">{root.InstanceName}</span>}
        {session.kind === "signed-in" && (
          <nav aria-label="Main">
            <a href={href("events")} aria-current={section === "events" || section === "event" ? "page" : undefined}>
              Events
            </a>
            {visibleAdminPages(session.permissions).length > 0 && (
              <a href={href("settings")} aria-current={section === "settings" ? "page" : undefined}>
                Settings
              </a>
            )}
          </nav>
        )}
        {session.kind === "signed-in" && (
          <span class="who">
            <a class="username" href={href("profile")} aria-current={section === "profile" ? "page" : undefined} title="Your profile">
              {session.user.DisplayName || session.user.Username}
            </a>
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
              void signedIn(user);
            }}
          />
        )}
        {session.kind === "signed-in" && section === "event" && <EventPage id={decodeURIComponent(route.path.slice("event/".length))} />}
        {session.kind === "signed-in" && section === "settings" && (
          <Settings
            page={route.path.split("/")[1] ?? ""}
            userId={session.user.Id}
            permissions={session.permissions}
            onTitleChanged={() => void loadRoot()}
          />
        )}
        {session.kind === "signed-in" && section === "profile" && (
          <Profile
            user={session.user}
            permissions={session.permissions}
            onChanged={(user) => setSession({ ...session, user: { ...session.user, ...user } })}
          />
        )}
        {session.kind === "signed-in" && section !== "event" && section !== "settings" && section !== "profile" && (
          <EventsPage route={route} canIngestHint={session.permissions.has("Project") || session.permissions.has("Write")} />
        )}
      </main>
    </div>
  );
}
