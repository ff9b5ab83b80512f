"use client";
/** Streaming chat over the socket: send, queue, stop, resume after reload or network loss. */
import { useCallback, useEffect, useReducer, useRef, useState } from "react";

import { api, type Message } from "@/lib/api/client";
import { chatSocketUrl, fetchRuntimeConfig, fetchToken } from "@/lib/api/same-origin";
import {
  chatReducer,
  initialChatState,
  isActive,
  type ChatState,
  type ContextName,
  type JobInfo,
} from "@/lib/chat-state";
import { ChatSocket, type SocketState } from "@/lib/websocket";

export interface UseChat {
  state: ChatState;
  connection: SocketState;
  send: (content: string, context: ContextName) => void;
  stop: (jobId?: string) => void;
  openSession: (sessionId: string) => Promise<void>;
  newSession: () => void;
  dismissNotice: () => void;
}

let keyCounter = 0;

/** Jobs of a session whose answer is not stored yet (running, or ended without text). */
function unansweredJobs(messages: Message[]): string[] {
  const answered = new Set(messages.filter((m) => m.role === "assistant").map((m) => m.job_id));
  return messages.filter((m) => m.role === "user" && m.job_id && !answered.has(m.job_id)).map((m) => m.job_id as string);
}

export function useChat(projectId: string, initialSessionId: string | null = null): UseChat {
  const [state, dispatch] = useReducer(chatReducer, initialChatState);
  const [connection, setConnection] = useState<SocketState>("idle");
  // a new socket per session: a socket's later messages continue its first one's session
  const [generation, setGeneration] = useState(0);
  const socketRef = useRef<ChatSocket | null>(null);
  const stateRef = useRef(state);
  stateRef.current = state;
  const pendingSession = useRef<string | null>(initialSessionId);

  const openSession = useCallback(async (sessionId: string) => {
    const messages = await api.listMessages(sessionId);
    const jobs: Record<string, JobInfo> = {};
    const found = await Promise.all(unansweredJobs(messages).map((id) => api.getJob(id).catch(() => null)));
    const known = found.filter((j) => j !== null);
    for (const job of known) jobs[job.id] = job;
    dispatch({ type: "history", sessionId, messages: messages.map((m) => ({ ...m, role: m.role as "user" | "assistant" })), jobs });
    for (const job of known) {
      // replay a running job from its first frame: the history holds none of its text yet
      if (job.state === "queued" || job.state === "running") socketRef.current?.track(job.id, 0);
    }
  }, []);

  useEffect(() => {
    let socket: ChatSocket | null = null;
    let cancelled = false;
    void (async () => {
      const config = await fetchRuntimeConfig();
      if (cancelled) return;
      socket = new ChatSocket({ url: chatSocketUrl(config, projectId, window.location), getToken: fetchToken });
      socketRef.current = socket;
      socket.on("frame", (frame) => dispatch({ type: "frame", frame }));
      socket.on("state", setConnection);
      socket.connect();
      const sessionId = pendingSession.current;
      pendingSession.current = null;
      if (sessionId) await openSession(sessionId).catch(() => dispatch({ type: "reset" }));
    })();
    return () => {
      cancelled = true;
      socket?.close();
      socketRef.current = null;
    };
  }, [projectId, generation, openSession]);

  const send = useCallback((content: string, context: ContextName) => {
    const key = `t-${Date.now()}-${keyCounter++}`;
    dispatch({ type: "send", key, content, context });
    const sessionId = stateRef.current.sessionId;
    socketRef.current?.send({ type: "message", content, context, ...(sessionId ? { session_id: sessionId } : {}) });
  }, []);

  const stop = useCallback((jobId?: string) => {
    const turns = stateRef.current.turns;
    const target = jobId ?? turns.find((t) => t.status === "running")?.jobId ?? turns.find((t) => isActive(t) && t.jobId)?.jobId;
    if (!target) return;
    dispatch({ type: "stop", jobId: target });
    socketRef.current?.send({ type: "cancel", job_id: target });
  }, []);

  const newSession = useCallback(() => {
    dispatch({ type: "reset" });
    setGeneration((g) => g + 1);
  }, []);

  const openExisting = useCallback(
    async (sessionId: string) => {
      // a fresh socket, so its messages continue this session and no other
      pendingSession.current = sessionId;
      dispatch({ type: "reset" });
      setGeneration((g) => g + 1);
    },
    [],
  );

  const dismissNotice = useCallback(() => dispatch({ type: "dismiss" }), []);

  return { state, connection, send, stop, openSession: openExisting, newSession, dismissNotice };
}
