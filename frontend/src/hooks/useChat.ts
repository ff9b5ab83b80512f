"use client";
/** Streaming chat: send, queue, stop, switch session, resume after reload or network loss. */
import { useEffect, useMemo, useSyncExternalStore } from "react";

import { api } from "@/lib/api/client";
import { chatSocketUrl, fetchRuntimeConfig, fetchToken } from "@/lib/api/same-origin";
import { ChatController, type ChatSnapshot } from "@/lib/chat-controller";
import { browserNotifierEnv, TurnNotifier } from "@/lib/notifier";
import { ChatSocket } from "@/lib/websocket";

function createController(projectId: string): ChatController {
  const socket = new ChatSocket({
    url: async () => chatSocketUrl(await fetchRuntimeConfig(), projectId, window.location),
    getToken: fetchToken,
  });
  return new ChatController(projectId, socket, api, new TurnNotifier(browserNotifierEnv()));
}

/** The project's chat (one socket for the page, whatever session is shown). */
export function useChat(projectId: string, initialSessionId: string | null = null): ChatSnapshot & { controller: ChatController } {
  const controller = useMemo(() => createController(projectId), [projectId]);
  const snapshot = useSyncExternalStore(controller.subscribe, controller.getSnapshot, controller.getSnapshot);

  useEffect(() => {
    controller.connect();
    if (initialSessionId) void controller.openSession(initialSessionId);
    return () => controller.close();
    // the initial session is read once per controller: later switches go through it
  }, [controller]);

  return { ...snapshot, controller };
}
