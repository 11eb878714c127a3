// The signed-in user's own profile: name, password, theme, time zone, personal API keys.
// Theme and time zone are kept in the user's `Preferences` (so they follow the user) and in
// this browser (so they apply before the profile loads).

import { useState } from "preact/hooks";
import { api, type User } from "../api";
import { applyTheme, type Theme } from "../theme";
import { isValidTimeZone, setTimeZone, timeZone } from "../time";
import { ApiKeys } from "./ApiKeys";
import { ActionError, useAction } from "./common";

export function Profile({ user, permissions, onChanged }: { user: User; permissions: Set<string>; onChanged: (u: User) => void }) {
  const [displayName, setDisplayName] = useState(user.DisplayName ?? "");
  const [email, setEmail] = useState(user.EmailAddress ?? "");
  const [password, setPassword] = useState("");
  const [confirmPassword, setConfirmPassword] = useState("");
  const [theme, setTheme] = useState<Theme>((user.Preferences?.theme as Theme) ?? "system");
  const [zone, setZone] = useState(user.Preferences?.timeZone ?? timeZone() ?? "");
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const save = async (e: Event) => {
    e.preventDefault();
    setSaved(false);
    const ok = await action.run(async () => {
      if (password && password !== confirmPassword) throw new Error("The new passwords do not match.");
      if (zone && !isValidTimeZone(zone)) throw new Error(`"${zone}" is not a time zone this browser knows (for example Europe/Oslo or UTC).`);
      const current = await api<User>("GET", "/" + (user.Links?.Self ?? `api/users/${user.Id}`));
      const updated = await api<User>("PUT", "/" + (user.Links?.Self ?? `api/users/${user.Id}`), {
        ...current,
        DisplayName: displayName.trim() || null,
        EmailAddress: email.trim() || null,
        NewPassword: password || null,
        Preferences: { ...(current.Preferences ?? {}), theme, timeZone: zone },
      });
      applyTheme(theme);
      setTimeZone(zone || null);
      onChanged(updated ?? { ...current, DisplayName: displayName });
    });
    if (ok) {
      setPassword("");
      setConfirmPassword("");
      setSaved(true);
    }
  };
  return (
    <div class="admin">
      <section class="admin-section" aria-label="Profile">
        <h2>Profile</h2>
        <form class="admin-form" onSubmit={save}>
          <label>
            Username
            <input value={user.Username} disabled />
          </label>
          <label>
            Display name
            <input value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} />
          </label>
          <label>
            Email address
            <input type="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          </label>
          <label>
            New password (leave empty to keep the current one)
            <input type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          </label>
          {password && (
            <label>
              Confirm new password
              <input type="password" autocomplete="new-password" value={confirmPassword} onInput={(e) => setConfirmPassword(e.currentTarget.value)} />
            </label>
          )}
          <label>
            Theme
            <select value={theme} onChange={(e) => setTheme((e.currentTarget as HTMLSelectElement).value as Theme)}>
              <option value="system">Follow the system</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
          </label>
          <label>
            Time zone for timestamps
            <input value={zone} placeholder={`Browser default (${Intl.DateTimeFormat().resolvedOptions().timeZone})`} onInput={(e) => setZone(e.currentTarget.value)} />
          </label>
          <ActionError error={action.error} />
          <div class="form-actions">
            <button type="submit" class="primary" disabled={action.busy}>Save</button>
            {saved && <span role="status">Saved.</span>}
          </div>
        </form>
      </section>
      {permissions.has("Read") && <ApiKeys personal userId={user.Id} permissions={permissions} />}
    </div>
  );
}
