"use client";
/** A project's chat: sessions on the side, turns streaming in, the composer below. */
import Link from "next/link";
import { useEffect, useRef, useState } from "react";

import { useChat } from "@/hooks/useChat";
import { useLimits } from "@/hooks/useLimits";
import { isActive, queuePosition } from "@/lib/chat-state";
import { describeError } from "@/lib/errors";
import { Composer } from "./composer";
import { ErrorBanner } from "./error-banner";
import { LimitWarnings } from "./limits-panel";
import { SessionsList } from "./sessions-list";
import { TurnView } from "./turn-view";
import { WorkspacePanel } from "./workspace-panel";

const CONNECTION_TEXT: Record<string, string> = {
  idle: "connecting…",
  connecting: "connecting…",
  open: "connected",
  reconnecting: "reconnecting…",
  unauthorized: "signed out",
  closed: "closed",
};

export function ChatView({ projectId, initialSessionId }: { projectId: string; initialSessionId: string | null }) {
  const { chat: state, connection, controller } = useChat(projectId, initialSessionId);
  const endRef = useRef<HTMLDivElement>(null);
  const finished = state.turns.filter((t) => !isActive(t)).length;
  const running = state.turns.find((t) => t.status === "running" && t.jobId);
  const limits = useLimits(finished);
  const [reverts, setReverts] = useState(0);

  useEffect(() => {
    if (connection === "unauthorized") window.location.href = "/login";
  }, [connection]);

  useEffect(() => {
    // keep the session in the URL, so a reload reopens it and resumes a running turn
    const url = new URL(window.location.href);
    if (state.sessionId && url.searchParams.get("session") !== state.sessionId) {
      url.searchParams.set("session", state.sessionId);
      window.history.replaceState(null, "", url);
    }
  }, [state.sessionId]);

  const lastText = state.turns.at(-1)?.parts.length ?? 0;
  useEffect(() => {
    endRef.current?.scrollIntoView({ block: "end" });
  }, [state.turns.length, lastText]);

  const newSession = () => {
    window.history.replaceState(null, "", `/projects/${projectId}`);
    controller.newSession();
  };

  return (
    <div className="chat-layout">
      <SessionsList
        projectId={projectId}
        currentId={state.sessionId}
        refreshKey={finished + (state.sessionId ? 1 : 0)}
        onOpen={(id) => void controller.openSession(id)}
        onNew={newSession}
      />
      <section className="chat">
        <div className="row spread chat-head">
          <h2>Chat</h2>
          <span className="row small">
            <span className={`dot ${connection}`} data-testid="connection" data-state={connection} />
            {CONNECTION_TEXT[connection]}
            <Link href={`/projects/${projectId}/usage`} data-testid="usage-link">
              Usage
            </Link>
          </span>
        </div>
        {limits && <LimitWarnings limits={limits} />}
        <div className="turns" data-testid="turns">
          {state.turns.length === 0 && (
            <p className="muted empty">Ask Claude about this project. Pick a context, then send.</p>
          )}
          {state.turns.map((turn) => (
            <TurnView
              key={turn.key}
              turn={turn}
              position={queuePosition(state, turn)}
              onStop={(jobId) => void controller.stop(jobId)}
              onReverted={() => setReverts((n) => n + 1)}
            />
          ))}
          <div ref={endRef} />
        </div>
        {state.notice && (
          <ErrorBanner
            error={describeError(state.notice.code, state.notice.message, state.notice.details)}
            onDismiss={() => controller.dismissNotice()}
          />
        )}
        <Composer
          onSend={(content, context) => controller.send(content, context)}
          onStop={() => void controller.stop()}
          canStop={Boolean(running)}
          disabled={connection === "unauthorized"}
        />
      </section>
      <WorkspacePanel projectId={projectId} refreshKey={finished + reverts} />
    </div>
  );
}
