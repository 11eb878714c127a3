import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type User } from "./api";

interface Provider {
  Name: string;
  Url: string;
  IsAlternative: boolean;
}

/// The sign-in form (`POST api/users/login`), with the server's message on failure. When the
/// server says the password must be changed first (a first-run or reset password), the form
/// asks for a new one and signs in with both.
export function SignIn(props: { title: string | null; onSignedIn: (user: User) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [newPassword, setNewPassword] = useState<string | null>(null);
  const [confirm, setConfirm] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [providers, setProviders] = useState<Provider[]>([]);

  useEffect(() => {
    api<{ Providers: Provider[] }>("GET", "/api/users/providers")
      .then((p) => setProviders(p.Providers ?? []))
      .catch(() => setProviders([]));
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (newPassword !== null && newPassword !== confirm) {
      setError("The new passwords do not match.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const user = await api<User>("POST", "/api/users/login", {
        Username: username,
        Password: password,
        ...(newPassword !== null ? { NewPassword: newPassword } : {}),
      });
      props.onSignedIn(user);
    } catch (err) {
      if (err instanceof ApiError && err.status === 400 && /must be changed/i.test(err.message) && newPassword === null) {
        setNewPassword("");
        setError("Your password must be changed before you sign in. Choose a new one.");
      } else {
        setError(err instanceof Error ? err.message : String(err));
      }
    } finally {
      setBusy(false);
    }
  };

  const others = providers.filter((p) => p.Name !== "Local");
  return (
    <form class="sign-in" onSubmit={submit}>
      <h1>Sign in{props.title ? ` to ${props.title}` : ""}</h1>
      <label>
        Username
        <input name="username" autocomplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required />
      </label>
      <label>
        Password
        <input
          name="password"
          type="password"
          autocomplete="current-password"
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
          required
        />
      </label>
      {newPassword !== null && (
        <>
          <label>
            New password
            <input
              name="new-password"
              type="password"
              autocomplete="new-password"
              value={newPassword}
              onInput={(e) => setNewPassword(e.currentTarget.value)}
              required
            />
          </label>
          <label>
            Confirm new password
            <input
              name="confirm-password"
              type="password"
              autocomplete="new-password"
              value={confirm}
              onInput={(e) => setConfirm(e.currentTarget.value)}
              required
            />
          </label>
        </>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? "Signing in…" : newPassword !== null ? "Change password and sign in" : "Sign in"}
      </button>
      {others.length > 0 && (
        <p class="muted">Also available: {others.map((p) => p.Name).join(", ")} (configured by your administrator).</p>
      )}
    </form>
  );
}
