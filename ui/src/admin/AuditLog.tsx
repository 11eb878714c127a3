// The audit log (System): who did what, newest last as stored, paged with `afterId`.

import { useEffect, useState } from "preact/hooks";
import { api } from "../api";
import { formatTimestamp } from "../time";
import { ActionError, useAction } from "./common";

interface AuditRecord {
  Id: number;
  Timestamp: string;
  Principal: string | null;
  ClientAddress: string | null;
  Action: string;
  Target: string | null;
  Outcome: string;
  Detail: unknown;
}

const PAGE = 200;

export function AuditLog() {
  const [records, setRecords] = useState<AuditRecord[]>([]);
  const [done, setDone] = useState(false);
  const action = useAction();
  const more = () =>
    action.run(async () => {
      const after = records.length ? records[records.length - 1].Id : 0;
      const page = await api<AuditRecord[]>("GET", `/api/auditlog?count=${PAGE}&afterId=${after}`);
      setRecords((r) => [...r, ...page]);
      if (page.length < PAGE) setDone(true);
    });
  useEffect(() => {
    void more();
  }, []);
  return (
    <section class="admin-section" aria-label="Audit log">
      <h2>Audit log</h2>
      <ActionError error={action.error} />
      <table class="admin-table audit">
        <thead>
          <tr>
            <th>Time</th>
            <th>Who</th>
            <th>From</th>
            <th>Action</th>
            <th>Target</th>
            <th>Outcome</th>
            <th>Detail</th>
          </tr>
        </thead>
        <tbody>
          {records.map((r) => (
            <tr class={`outcome-${r.Outcome}`}>
              <td>{formatTimestamp(r.Timestamp).slice(0, 19)}</td>
              <td>{r.Principal ?? "(server)"}</td>
              <td>{r.ClientAddress ?? ""}</td>
              <td>{r.Action}</td>
              <td>{r.Target ?? ""}</td>
              <td>{r.Outcome}</td>
              <td class="mono">{JSON.stringify(r.Detail)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!done && (
        <button type="button" disabled={action.busy} onClick={() => void more()}>
          {action.busy ? "Loading…" : "Load more"}
        </button>
      )}
    </section>
  );
}
