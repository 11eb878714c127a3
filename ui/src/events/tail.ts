// Live tail over Seq's `Stream` WebSocket. Events arrive one per message, oldest first; they
// are handed on in batches a few times a second so hundreds per second do not mean hundreds
// of renders.

import { basePath, type EventEntity } from "../api";

const FLUSH_MS = 200;

export interface Tail {
  close(): void;
}

export function openTail(
  filter: string,
  onEvents: (newestFirst: EventEntity[]) => void,
  onEnd: (error: string | null) => void,
): Tail {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const params = new URLSearchParams({ render: "true" });
  if (filter) params.set("filter", filter);
  const socket = new WebSocket(`${scheme}//${location.host}${basePath}/api/events/stream?${params}`);
  let buffer: EventEntity[] = [];
  let closedByUs = false;
  const timer = setInterval(() => {
    if (buffer.length) {
      const batch = buffer.reverse();
      buffer = [];
      onEvents(batch);
    }
  }, FLUSH_MS);
  socket.onmessage = (m) => {
    try {
      buffer.push(JSON.parse(String(m.data)) as EventEntity);
    } catch {
      // A message that is not an event is not shown.
    }
  };
  socket.onclose = (e) => {
    clearInterval(timer);
    if (closedByUs) return;
    onEnd(e.code === 1000 ? null : e.reason || "The live tail connection closed; check that you are still signed in.");
  };
  return {
    close() {
      closedByUs = true;
      clearInterval(timer);
      socket.close(1000);
    },
  };
}
