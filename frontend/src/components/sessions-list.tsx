"use client";
/** The project's past sessions; opening one shows its messages and continues it. */
import { useEffect, useState } from "react";

import { api, type Session } from "@/lib/api/client";

interface Props {
  projectId: string;
  currentId: string | null;
  refreshKey: number;
  onOpen: (sessionId: string) => void;
  onNew: () => void;
}

export function SessionsList({ projectId, currentId, refreshKey, onOpen, onNew }: Props) {
  const [sessions, setSessions] = useState<Session[]>([]);
  useEffect(() => {
    api.listSessions(projectId).then(setSessions, () => setSessions([]));
  }, [projectId, refreshKey]);

  return (
    <aside className="sessions">
      <button type="button" className="primary block" onClick={onNew} data-testid="new-session">
        New session
      </button>
      <h3>Sessions</h3>
      {sessions.length === 0 && <p className="muted small">No past sessions.</p>}
      <ul data-testid="sessions">
        {sessions.map((s) => (
          <li key={s.id}>
            <button
              type="button"
              className={`session-link ${s.id === currentId ? "current" : ""}`}
              onClick={() => onOpen(s.id)}
              data-session-id={s.id}
            >
              <span className="session-title">{s.title || "(untitled)"}</span>
              <span className="muted small">
                {s.context} · {new Date(s.last_active_at).toLocaleString()}
              </span>
            </button>
          </li>
        ))}
      </ul>
    </aside>
  );
}
