// A permalink: one event by id, expanded.

import { useEffect, useState } from "preact/hooks";
import { api, withQuery, type EventEntity } from "../api";
import { navigate } from "../route";
import { EventDetail } from "./EventDetail";
import { ErrorPanel } from "./EventsPage";

export function EventPage({ id }: { id: string }) {
  const [event, setEvent] = useState<EventEntity | null>(null);
  const [error, setError] = useState<Error | null>(null);
  useEffect(() => {
    setEvent(null);
    setError(null);
    api<EventEntity>("GET", withQuery(`/api/events/${encodeURIComponent(id)}`, { render: true }))
      .then(setEvent)
      .catch((e: Error) => setError(e));
  }, [id]);
  if (error) return <ErrorPanel error={error} />;
  if (!event) return <p class="muted">Loading the event…</p>;
  return (
    <section class="event-page">
      <h1 class="message">{event.RenderedMessage}</h1>
      <EventDetail event={event} onFilter={(c) => navigate("events", { filter: c })} />
    </section>
  );
}
