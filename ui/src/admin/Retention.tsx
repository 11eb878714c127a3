// Retention policies: events older than a policy's time (and matching its filter, when it has
// one) are deleted.

import { useState } from "preact/hooks";
import { api } from "../api";
import { ActionError, Loading, useAction, useResource } from "./common";

interface Policy {
  Id: string;
  RetentionTime: string;
  Filter: { Filter: string | null; FilterNonStrict?: string | null } | null;
  Links: Record<string, string>;
}

/// `30.00:00:00` → "30 days"; `04:00:00` → "4 hours".
function describe(span: string): string {
  const m = span.match(/^(?:(\d+)\.)?(\d\d):(\d\d):(\d\d)/);
  if (!m) return span;
  const [, d, h, min] = m;
  const parts = [];
  if (d && +d) parts.push(`${+d} day${+d === 1 ? "" : "s"}`);
  if (+h) parts.push(`${+h} hour${+h === 1 ? "" : "s"}`);
  if (+min) parts.push(`${+min} minute${+min === 1 ? "" : "s"}`);
  return parts.join(" ") || span;
}

export function Retention() {
  const policies = useResource<Policy[]>("/api/retentionpolicies");
  const [days, setDays] = useState("30");
  const [filter, setFilter] = useState("");
  const action = useAction();
  const create = async (e: Event) => {
    e.preventDefault();
    const ok = await action.run(async () => {
      const template = await api<Policy>("GET", "/api/retentionpolicies/template");
      const n = Number(days);
      if (!Number.isFinite(n) || n <= 0) throw new Error("The retention time must be a positive number of days.");
      const whole = Math.floor(n);
      const hours = Math.round((n - whole) * 24);
      await api("POST", "/api/retentionpolicies/", {
        ...template,
        RetentionTime: `${whole}.${String(hours).padStart(2, "0")}:00:00`,
        Filter: filter.trim() ? { Filter: filter.trim(), FilterNonStrict: filter.trim() } : null,
      });
    });
    if (ok) {
      setFilter("");
      policies.reload();
    }
  };
  return (
    <section class="admin-section" aria-label="Retention policies">
      <h2>Retention policies</h2>
      <p class="muted">Events older than a policy's time are deleted for good, on a schedule. With a filter, only matching events are.</p>
      {!policies.data ? (
        <Loading error={policies.error} what="retention policies" />
      ) : policies.data.length === 0 ? (
        <p class="muted">No policies: events are kept until deleted by hand.</p>
      ) : (
        <table class="admin-table">
          <thead>
            <tr>
              <th>Keep for</th>
              <th>Applies to</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {policies.data.map((p) => (
              <tr>
                <td>{describe(p.RetentionTime)}</td>
                <td class="mono">{p.Filter?.Filter ?? "All events"}</td>
                <td>
                  <button type="button" onClick={() => confirm("Delete this retention policy?") && void action.run(() => api("DELETE", "/" + p.Links.Self, p)).then((ok) => ok && policies.reload())}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form class="admin-form" onSubmit={create} aria-label="New retention policy">
        <label>
          Delete events older than (days)
          <input type="number" min="0.05" step="any" required value={days} onInput={(e) => setDays(e.currentTarget.value)} />
        </label>
        <label>
          Only events matching (optional)
          <input class="mono" value={filter} placeholder="e.g. @Level = 'Debug'" onInput={(e) => setFilter(e.currentTarget.value)} />
        </label>
        <ActionError error={action.error} />
        <div class="form-actions">
          <button type="submit" class="primary" disabled={action.busy}>Add policy</button>
        </div>
      </form>
    </section>
  );
}
