// Instance settings an administrator changes from the UI: title, ingestion limits, whether
// ingestion needs an API key, and the free-space floor.

import { useEffect, useState } from "preact/hooks";
import { api } from "../api";
import { ActionError, Loading, useAction, useResource } from "./common";

interface Setting {
  Id: string;
  Name: string;
  Value: unknown;
  Links: Record<string, string>;
}

const FIELDS: { name: string; label: string; kind: "text" | "bytes" | "bool"; help: string }[] = [
  { name: "InstanceTitle", label: "Instance title", kind: "text", help: "Shown in the header and on the sign-in page." },
  { name: "RequireApiKeyForWritingEvents", label: "Require an API key to ingest events", kind: "bool", help: "When off, events sent without a key are accepted under the default input settings." },
  { name: "RawPayloadMaximumContentLength", label: "Largest request body (bytes)", kind: "bytes", help: "Larger batches are refused with 413; clients then send smaller ones." },
  { name: "RawEventMaximumContentLength", label: "Largest event (bytes)", kind: "bytes", help: "Larger events are refused with a 400 naming them." },
  { name: "MinimumFreeStorageSpace", label: "Minimum free storage space (bytes)", kind: "bytes", help: "Below it ingestion pauses (503) instead of filling the disk; 0 turns the check off." },
];

export function SystemSettings({ onTitleChanged }: { onTitleChanged: () => void }) {
  const settings = useResource<Setting[]>("/api/settings");
  const [values, setValues] = useState<Record<string, unknown>>({});
  const [saved, setSaved] = useState(false);
  const action = useAction();
  useEffect(() => {
    if (settings.data) setValues(Object.fromEntries(settings.data.map((s) => [s.Name, s.Value])));
  }, [settings.data]);
  if (!settings.data) return <Loading error={settings.error} what="settings" />;
  const save = async (e: Event) => {
    e.preventDefault();
    setSaved(false);
    const ok = await action.run(async () => {
      for (const f of FIELDS) {
        const s = settings.data!.find((x) => x.Name === f.name);
        if (!s) continue;
        let v = values[f.name];
        if (f.kind === "bytes") {
          const n = Number(v);
          if (!Number.isInteger(n) || n < 0) throw new Error(`${f.label} must be a whole number of bytes.`);
          v = n;
        }
        if (f.kind === "text") v = typeof v === "string" && v.trim() ? v.trim() : null;
        if (JSON.stringify(v) !== JSON.stringify(s.Value)) await api("PUT", "/" + s.Links.Self, { ...s, Value: v });
      }
    });
    if (ok) {
      setSaved(true);
      settings.reload();
      onTitleChanged();
    }
  };
  return (
    <section class="admin-section" aria-label="System settings">
      <h2>System settings</h2>
      <form class="admin-form" onSubmit={save}>
        {FIELDS.map((f) => (
          <label class={f.kind === "bool" ? "inline" : undefined}>
            {f.kind === "bool" ? (
              <input type="checkbox" checked={values[f.name] === true} onChange={(e) => setValues({ ...values, [f.name]: (e.currentTarget as HTMLInputElement).checked })} />
            ) : null}
            {f.label}
            {f.kind !== "bool" && (
              <input
                type={f.kind === "bytes" ? "number" : "text"}
                min={f.kind === "bytes" ? 0 : undefined}
                value={values[f.name] === null || values[f.name] === undefined ? "" : String(values[f.name])}
                onInput={(e) => setValues({ ...values, [f.name]: e.currentTarget.value })}
              />
            )}
            <span class="help muted">{f.help}</span>
          </label>
        ))}
        <ActionError error={action.error} />
        <div class="form-actions">
          <button type="submit" class="primary" disabled={action.busy}>Save</button>
          {saved && <span role="status">Saved.</span>}
        </div>
      </form>
    </section>
  );
}
