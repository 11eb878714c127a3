// API keys: the list, and a form creating one with its title, permissions, minimum level,
// applied properties and filter. The token is shown once, when created, with a copy button.

import { useState } from "preact/hooks";
import { api } from "../api";
import { ActionError, LEVELS, Loading, useAction, useResource } from "./common";

interface ApiKey {
  Id: string;
  Title: string;
  Token: string | null;
  TokenPrefix: string | null;
  OwnerId: string | null;
  IsDefault: boolean;
  AssignedPermissions: string[];
  InputSettings: {
    AppliedProperties: { Name: string; Value: unknown }[];
    Filter: { Filter: string | null; FilterNonStrict: string | null; Description: string | null; DescriptionIsExcluded: boolean };
    MinimumLevel: string | null;
    UseServerTimestamps: boolean;
  };
  Counts?: { IngestedEvents: number };
  Links: Record<string, string>;
}

const GRANTABLE = ["Ingest", "Read", "Write", "Project", "Organization", "System"];

interface Props {
  /// Only the signed-in user's own keys (the profile page), created as personal keys.
  personal: boolean;
  userId: string;
  permissions: Set<string>;
}

export function ApiKeys({ personal, userId, permissions }: Props) {
  const keys = useResource<ApiKey[]>(personal ? `/api/apikeys?ownerId=${encodeURIComponent(userId)}` : "/api/apikeys");
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<ApiKey | null>(null);
  const del = useAction();
  const list = (keys.data ?? []).filter((k) => (personal ? k.OwnerId === userId : true));
  return (
    <section class="admin-section" aria-label={personal ? "Personal API keys" : "API keys"}>
      <header class="section-head">
        <h2>{personal ? "Personal API keys" : "API keys"}</h2>
        {permissions.has("Write") && (
          <button type="button" class="primary" onClick={() => { setCreated(null); setCreating(true); }}>
            New API key
          </button>
        )}
      </header>
      {created && <TokenOnce apiKey={created} onDone={() => setCreated(null)} />}
      {creating && (
        <ApiKeyForm
          personal={personal || !permissions.has("Project")}
          userId={userId}
          ownPermissions={permissions}
          onCancel={() => setCreating(false)}
          onCreated={(k) => {
            setCreating(false);
            setCreated(k);
            keys.reload();
          }}
        />
      )}
      <ActionError error={del.error} />
      {!keys.data ? (
        <Loading error={keys.error} what="API keys" />
      ) : (
        <table class="admin-table">
          <thead>
            <tr>
              <th>Title</th>
              <th>Token</th>
              <th>Permissions</th>
              <th>Minimum level</th>
              <th>Applied properties</th>
              <th>Filter</th>
              <th>Owner</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((k) => (
              <tr>
                <td>{k.Title}</td>
                <td class="mono">{k.TokenPrefix ? `${k.TokenPrefix}…` : k.IsDefault ? "(none: unauthenticated)" : ""}</td>
                <td>{k.AssignedPermissions.join(", ")}</td>
                <td>{k.InputSettings.MinimumLevel ?? ""}</td>
                <td class="mono">{k.InputSettings.AppliedProperties.map((p) => `${p.Name}=${JSON.stringify(p.Value)}`).join(", ")}</td>
                <td class="mono">{k.InputSettings.Filter?.Filter ?? ""}</td>
                <td>{k.OwnerId ? (k.OwnerId === userId ? "You" : k.OwnerId) : "Shared"}</td>
                <td>
                  {!k.IsDefault && (
                    <button
                      type="button"
                      aria-label={`Delete API key ${k.Title}`}
                      disabled={del.busy}
                      onClick={() => {
                        if (confirm(`Delete the API key "${k.Title}"? Clients using it will be refused.`)) {
                          void del.run(() => api("DELETE", "/" + k.Links.Self, k)).then((ok) => ok && keys.reload());
                        }
                      }}
                    >
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {keys.data && list.length === 0 && <p class="muted">No keys yet. Create one for each application that sends events.</p>}
    </section>
  );
}

function TokenOnce({ apiKey, onDone }: { apiKey: ApiKey; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="token-once" role="alert">
      <p>
        <strong>The token of "{apiKey.Title}" is shown only now.</strong> Copy it into the application's configuration; seqr
        keeps only a one-way hash and cannot show it again.
      </p>
      <p class="token-line">
        <input readOnly class="mono" aria-label="API key token" value={apiKey.Token ?? ""} size={40} onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
        <button
          type="button"
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(apiKey.Token ?? "");
              setCopied(true);
            } catch {
              setCopied(false);
            }
          }}
        >
          {copied ? "Copied" : "Copy"}
        </button>
        <button type="button" onClick={onDone}>
          Done
        </button>
      </p>
    </div>
  );
}

function ApiKeyForm({ personal, userId, ownPermissions, onCancel, onCreated }: { personal: boolean; userId: string; ownPermissions: Set<string>; onCancel: () => void; onCreated: (k: ApiKey) => void }) {
  const [title, setTitle] = useState("");
  const [granted, setGranted] = useState<Set<string>>(new Set(["Ingest"]));
  const [minimumLevel, setMinimumLevel] = useState("");
  const [filter, setFilter] = useState("");
  const [props, setProps] = useState<{ Name: string; Value: string }[]>([]);
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    await action.run(async () => {
      const template = await api<ApiKey>("GET", "/api/apikeys/template");
      const body = {
        ...template,
        Title: title,
        AssignedPermissions: [...granted],
        OwnerId: personal ? userId : null,
        InputSettings: {
          ...template.InputSettings,
          MinimumLevel: minimumLevel || null,
          AppliedProperties: props.filter((p) => p.Name.trim()).map((p) => ({ Name: p.Name.trim(), Value: p.Value })),
          Filter: { ...template.InputSettings.Filter, Filter: filter.trim() || null, FilterNonStrict: filter.trim() || null },
        },
      };
      const created = await api<ApiKey>("POST", "/" + (template.Links.Create ?? "api/apikeys/"), body);
      onCreated(created);
    });
  };
  return (
    <form class="admin-form" onSubmit={submit} aria-label="New API key">
      <label>
        Title
        <input required value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
      </label>
      <fieldset>
        <legend>Permissions</legend>
        {GRANTABLE.filter((p) => ownPermissions.has(p) || p === "Ingest").map((p) => (
          <label class="inline">
            <input
              type="checkbox"
              checked={granted.has(p)}
              onChange={(e) => {
                const next = new Set(granted);
                if ((e.currentTarget as HTMLInputElement).checked) next.add(p);
                else next.delete(p);
                setGranted(next);
              }}
            />
            {p}
          </label>
        ))}
      </fieldset>
      <label>
        Minimum level
        <select value={minimumLevel} onChange={(e) => setMinimumLevel((e.currentTarget as HTMLSelectElement).value)}>
          <option value="">(all events)</option>
          {LEVELS.map((l) => (
            <option value={l}>{l}</option>
          ))}
        </select>
      </label>
      <fieldset>
        <legend>Applied properties</legend>
        {props.map((p, i) => (
          <div class="pair">
            <input aria-label="Property name" placeholder="Name" value={p.Name} onInput={(e) => setProps(props.map((q, j) => (j === i ? { ...q, Name: e.currentTarget.value } : q)))} />
            <input aria-label="Property value" placeholder="Value" value={p.Value} onInput={(e) => setProps(props.map((q, j) => (j === i ? { ...q, Value: e.currentTarget.value } : q)))} />
            <button type="button" onClick={() => setProps(props.filter((_, j) => j !== i))}>Remove</button>
          </div>
        ))}
        <button type="button" onClick={() => setProps([...props, { Name: "", Value: "" }])}>Add property</button>
      </fieldset>
      <label>
        Filter (only events matching it are kept)
        <input class="mono" value={filter} placeholder="e.g. @Level <> 'Verbose'" onInput={(e) => setFilter(e.currentTarget.value)} />
      </label>
      <ActionError error={action.error} />
      <div class="form-actions">
        <button type="submit" class="primary" disabled={action.busy}>
          {action.busy ? "Creating…" : "Create"}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
