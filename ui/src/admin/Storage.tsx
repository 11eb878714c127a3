// Storage: events and bytes on disk by day, and the store's totals.

import { Loading, useResource } from "./common";

interface StorageReport {
  Results: { Columns: { Label: string }[]; Rows: [string, number, number, number][] };
  Totals: { Events: number; BytesOnDisk: number; WalBytes: number; Parts: number; QuarantinedFiles: number; WritesFailed: boolean; FlushFailing: boolean };
}

function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function Storage() {
  const start = new Date(Date.now() - 30 * 86400e3).toISOString().slice(0, 10) + "T00:00:00Z";
  const report = useResource<StorageReport>(`/api/diagnostics/storage?rangeStart=${encodeURIComponent(start)}&intervalSeconds=86400`);
  if (!report.data) return <Loading error={report.error} what="storage usage" />;
  const t = report.data.Totals;
  const rows = report.data.Results.Rows.filter((r) => r[2] > 0);
  const max = Math.max(1, ...rows.map((r) => r[1]));
  return (
    <section class="admin-section" aria-label="Storage">
      <h2>Storage</h2>
      <p>
        {t.Events.toLocaleString()} events in {bytes(t.BytesOnDisk)} on disk ({t.Parts} parts, {bytes(t.WalBytes)} in the write-ahead log).
        {t.QuarantinedFiles > 0 && <strong class="error"> {t.QuarantinedFiles} damaged file(s) quarantined: see the server log.</strong>}
        {(t.WritesFailed || t.FlushFailing) && <strong class="error"> Writing to disk is failing: see the server log.</strong>}
      </p>
      {rows.length === 0 ? (
        <p class="muted">No events stored in the last 30 days.</p>
      ) : (
        <table class="admin-table">
          <thead>
            <tr>
              <th>Day (UTC)</th>
              <th>Events</th>
              <th>On disk</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map(([day, b, events]) => (
              <tr>
                <td>{day.slice(0, 10)}</td>
                <td>{events.toLocaleString()}</td>
                <td>{bytes(b)}</td>
                <td class="bar-cell">
                  <span class="usage-bar" style={{ width: `${(b / max) * 100}%` }} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
