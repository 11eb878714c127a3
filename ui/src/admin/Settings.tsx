// Administration, shown according to the user's permissions: each page appears only for those
// whose role grants what its API demands (the server checks regardless).

import { href } from "../route";
import { ApiKeys } from "./ApiKeys";
import { AuditLog } from "./AuditLog";
import { Retention } from "./Retention";
import { Storage } from "./Storage";
import { SystemSettings } from "./SystemSettings";
import { Users } from "./Users";

export interface AdminPage {
  id: string;
  title: string;
  permission: string;
}

export const ADMIN_PAGES: AdminPage[] = [
  { id: "apikeys", title: "API keys", permission: "Project" },
  { id: "users", title: "Users", permission: "Organization" },
  { id: "retention", title: "Retention", permission: "Project" },
  { id: "system", title: "System", permission: "System" },
  { id: "storage", title: "Storage", permission: "System" },
  { id: "audit", title: "Audit log", permission: "System" },
];

export function visibleAdminPages(permissions: Set<string>): AdminPage[] {
  return ADMIN_PAGES.filter((p) => permissions.has(p.permission));
}

interface Props {
  page: string;
  userId: string;
  permissions: Set<string>;
  onTitleChanged: () => void;
}

export function Settings({ page, userId, permissions, onTitleChanged }: Props) {
  const pages = visibleAdminPages(permissions);
  const current = pages.find((p) => p.id === page) ?? pages[0];
  if (!current) return <p class="error" role="alert">Your role does not include administration.</p>;
  return (
    <div class="admin">
      <nav class="admin-nav" aria-label="Settings">
        {pages.map((p) => (
          <a href={href("settings/" + p.id)} aria-current={p.id === current.id ? "page" : undefined}>
            {p.title}
          </a>
        ))}
      </nav>
      {current.id === "apikeys" && <ApiKeys personal={false} userId={userId} permissions={permissions} />}
      {current.id === "users" && <Users currentUserId={userId} />}
      {current.id === "retention" && <Retention />}
      {current.id === "system" && <SystemSettings onTitleChanged={onTitleChanged} />}
      {current.id === "storage" && <Storage />}
      {current.id === "audit" && <AuditLog />}
    </div>
  );
}
