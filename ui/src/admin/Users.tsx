// Users: the list; creating one with a role, password and view filter; changing a user's role
// or view filter; resetting a password (the user must change it at next sign-in); deleting.

import { useState } from "preact/hooks";
import { api, type User } from "../api";
import { ActionError, Loading, useAction, useResource } from "./common";

interface Role {
  Id: string;
  Title: string;
  Permissions: string[];
}

export function Users({ currentUserId }: { currentUserId: string }) {
  const users = useResource<User[]>("/api/users");
  const roles = useResource<Role[]>("/api/roles");
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);
  const roleTitle = (id: string) => roles.data?.find((r) => r.Id === id)?.Title ?? id;
  return (
    <section class="admin-section" aria-label="Users">
      <header class="section-head">
        <h2>Users</h2>
        <button type="button" class="primary" onClick={() => setCreating(true)}>
          New user
        </button>
      </header>
      {creating && roles.data && (
        <UserForm
          roles={roles.data}
          onDone={(changed) => {
            setCreating(false);
            if (changed) users.reload();
          }}
        />
      )}
      {!users.data ? (
        <Loading error={users.error} what="users" />
      ) : (
        <table class="admin-table">
          <thead>
            <tr>
              <th>Username</th>
              <th>Display name</th>
              <th>Role</th>
              <th>View filter</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users.data.map((u) =>
              editing === u.Id && roles.data ? (
                <tr>
                  <td colSpan={5}>
                    <UserForm
                      roles={roles.data}
                      user={u}
                      isSelf={u.Id === currentUserId}
                      onDone={(changed) => {
                        setEditing(null);
                        if (changed) users.reload();
                      }}
                    />
                  </td>
                </tr>
              ) : (
                <tr>
                  <td>{u.Username}</td>
                  <td>{u.DisplayName ?? ""}</td>
                  <td>{(u.RoleIds ?? []).map(roleTitle).join(", ")}</td>
                  <td class="mono">{u.ViewFilter?.Filter ?? ""}</td>
                  <td>
                    <button type="button" aria-label={`Edit user ${u.Username}`} onClick={() => setEditing(u.Id)}>
                      Edit
                    </button>
                  </td>
                </tr>
              ),
            )}
          </tbody>
        </table>
      )}
    </section>
  );
}

function UserForm({ roles, user, isSelf, onDone }: { roles: Role[]; user?: User; isSelf?: boolean; onDone: (changed: boolean) => void }) {
  const [username, setUsername] = useState(user?.Username ?? "");
  const [displayName, setDisplayName] = useState(user?.DisplayName ?? "");
  const [role, setRole] = useState(user?.RoleIds?.[0] ?? "role-user-readonly");
  const [password, setPassword] = useState("");
  const [mustChange, setMustChange] = useState(true);
  const [viewFilter, setViewFilter] = useState(user?.ViewFilter?.Filter ?? "");
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const ok = await action.run(async () => {
      const base = user ?? (await api<User>("GET", "/api/users/template"));
      const body = {
        ...base,
        Username: username.trim(),
        DisplayName: displayName.trim() || null,
        RoleIds: [role],
        NewPassword: password || null,
        MustChangePassword: password ? mustChange : base.MustChangePassword,
        ViewFilter: viewFilter.trim() ? { Filter: viewFilter.trim(), FilterNonStrict: viewFilter.trim() } : null,
      };
      if (user) await api("PUT", "/" + user.Links!.Self, body);
      else await api("POST", "/api/users/", body);
    });
    if (ok) onDone(true);
  };
  const remove = async () => {
    if (!user || !confirm(`Delete the user ${user.Username}? Their personal API keys stop working.`)) return;
    if (await action.run(() => api("DELETE", "/" + user.Links!.Self, user))) onDone(true);
  };
  return (
    <form class="admin-form" onSubmit={submit} aria-label={user ? `Edit ${user.Username}` : "New user"}>
      <label>
        Username
        <input required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
      </label>
      <label>
        Display name
        <input value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} />
      </label>
      <label>
        Role
        <select value={role} disabled={isSelf} onChange={(e) => setRole((e.currentTarget as HTMLSelectElement).value)}>
          {roles.map((r) => (
            <option value={r.Id}>{r.Title} ({r.Permissions.join(", ")})</option>
          ))}
        </select>
      </label>
      <label>
        {user ? "Reset password (leave empty to keep)" : "Password (at least 12 characters)"}
        <input type="password" autocomplete="new-password" required={!user} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      </label>
      {password && (
        <label class="inline">
          <input type="checkbox" checked={mustChange} onChange={(e) => setMustChange((e.currentTarget as HTMLInputElement).checked)} />
          Must change the password at next sign-in
        </label>
      )}
      <label>
        View filter (AND-ed into everything this user reads)
        <input class="mono" value={viewFilter} placeholder="e.g. Environment = 'Production'" onInput={(e) => setViewFilter(e.currentTarget.value)} />
      </label>
      <ActionError error={action.error} />
      <div class="form-actions">
        <button type="submit" class="primary" disabled={action.busy}>
          {user ? "Save" : "Create"}
        </button>
        <button type="button" onClick={() => onDone(false)}>
          Cancel
        </button>
        {user && !isSelf && (
          <button type="button" class="danger" onClick={remove}>
            Delete user
          </button>
        )}
      </div>
    </form>
  );
}
