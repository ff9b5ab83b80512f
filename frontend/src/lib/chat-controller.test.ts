import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { createApi } from "./api/client";
import { ChatController } from "./chat-controller";
import type { TextPart } from "./chat-state";
import { fakeSockets, frame, type FakeSocket } from "./testing/fake-socket";
import { ChatSocket } from "./websocket";

const BASE = "http://frontend.test";

interface StoredJob {
  id: string;
  session_id: string;
  state: "queued" | "running" | "succeeded" | "failed" | "cancelled";
}

/**
 * The REST API as far as the chat uses it, in memory: chat turns create jobs (and a
 * session when none is named), sessions list their messages, jobs can be cancelled.
 * `hold` makes chat calls wait until the test releases them.
 */
class FakeRestApi {
  readonly chats: { session_id: string | null; content: string }[] = [];
  readonly cancels: string[] = [];
  readonly messages = new Map<string, { id: string; role: string; content: string; job_id: string | null; created_at: string }[]>();
  readonly jobs = new Map<string, StoredJob>();
  refuseChat: Response | null = null;
  refuseCancel: Response | null = null;
  hold = false;
  private held: (() => void)[] = [];
  private sessions = 0;

  release(): void {
    for (const go of this.held.splice(0)) go();
  }

  readonly fetch = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    let match: RegExpMatchArray | null;
    if (request.method === "POST" && (match = path.match(/^\/api\/projects\/([^/]+)\/chat$/))) {
      if (this.hold) await new Promise<void>((go) => this.held.push(go));
      const body = (await request.json()) as { content: string; session_id: string | null };
      this.chats.push({ session_id: body.session_id, content: body.content });
      if (this.refuseChat) return this.refuseChat;
      const sessionId = body.session_id ?? `s${++this.sessions}`;
      const jobId = `j${this.jobs.size + 1}`;
      this.jobs.set(jobId, { id: jobId, session_id: sessionId, state: "queued" });
      const stored = this.messages.get(sessionId) ?? [];
      stored.push({ id: `m-${jobId}`, role: "user", content: body.content, job_id: jobId, created_at: "t" });
      this.messages.set(sessionId, stored);
      return json({ job_id: jobId, session_id: sessionId, status_url: `/api/jobs/${jobId}`, events_url: "" }, 202);
    }
    if (request.method === "GET" && (match = path.match(/^\/api\/sessions\/([^/]+)\/messages$/))) {
      const stored = this.messages.get(match[1]);
      return stored ? json(stored) : json({ code: "not_found", message: "Session not found", details: {} }, 404);
    }
    if ((match = path.match(/^\/api\/jobs\/([^/]+)$/))) {
      const job = this.jobs.get(match[1]);
      if (!job) return json({ code: "not_found", message: "Job not found", details: {} }, 404);
      if (request.method === "DELETE") {
        this.cancels.push(job.id);
        if (this.refuseCancel) return this.refuseCancel;
      }
      return json(this.publicJob(job));
    }
    return json({ code: "not_found", message: `no route ${request.method} ${path}`, details: {} }, 404);
  };

  private publicJob(job: StoredJob) {
    return {
      ...job, project_id: "p1", context: "analysis", queue: "chat", cancel_requested: false, created_at: "t",
      started_at: null, finished_at: null, error_code: null, error_message: null, usage: null,
    };
  }
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

const chunk = (jobId: string, seq: number, content: string) => frame(jobId, seq, "assistant_chunk", { content, message_id: `m-${jobId}`, replaces: null });

describe("ChatController: the client owns the session", () => {
  let rest: FakeRestApi;
  let sockets: FakeSocket[];
  let controller: ChatController;
  const ws = () => sockets[sockets.length - 1];
  const chat = () => controller.getSnapshot().chat;
  const texts = () => chat().turns.map((t) => t.parts.filter((p): p is TextPart => p.kind === "text").map((p) => p.text).join(""));
  const resumes = () => ws().sent.filter((f) => f.type === "resume");
  /** Let REST calls, their continuations and socket opens run. */
  const settle = () => vi.advanceTimersByTimeAsync(0);

  beforeEach(async () => {
    vi.useFakeTimers();
    rest = new FakeRestApi();
    const fakes = fakeSockets();
    sockets = fakes.sockets;
    const socket = new ChatSocket({ url: "ws://api/ws/chat/p1", getToken: () => "tok", createSocket: fakes.createSocket });
    controller = new ChatController("p1", socket, createApi({ baseUrl: BASE, fetch: rest.fetch }));
    controller.connect();
    await settle();
    ws().open();
  });

  afterEach(() => {
    controller.close();
    vi.useRealTimers();
  });

  it("starts a new session with the first message, then names that session in every later one", async () => {
    controller.send("first", "analysis");
    await settle();
    expect(rest.chats).toEqual([{ session_id: null, content: "first" }]);
    expect(chat().sessionId).toBe("s1");
    expect(chat().turns[0]).toMatchObject({ jobId: "j1", status: "queued" });
    expect(resumes()).toEqual([{ type: "resume", job_id: "j1", after_seq: 0 }]);

    ws().receive(frame("j1", 1, "job_queued", { session_id: "s1", position: 0 }));
    ws().receive(chunk("j1", 2, "Hello"));
    controller.send("second", "review");
    await settle();
    expect(rest.chats[1]).toEqual({ session_id: "s1", content: "second" });
    expect(texts()).toEqual(["Hello", ""]);
    expect(ws().sent.some((f) => f.type === "message")).toBe(false);
  });

  it("holds a message typed before the new session exists, and keeps the order typed", async () => {
    rest.hold = true;
    controller.send("first", "analysis");
    controller.send("second", "analysis");
    await settle();
    expect(rest.chats).toEqual([]);
    rest.release();
    await settle();
    expect(rest.chats).toEqual([{ session_id: null, content: "first" }]);
    rest.release();
    await settle();
    expect(rest.chats).toEqual([
      { session_id: null, content: "first" },
      { session_id: "s1", content: "second" },
    ]);
    expect(chat().turns.map((t) => t.jobId)).toEqual(["j1", "j2"]);
  });

  it("starts another session after New session, on the same socket", async () => {
    controller.send("in s1", "analysis");
    await settle();
    controller.newSession();
    expect(chat()).toMatchObject({ sessionId: null, turns: [] });
    controller.send("in a new one", "analysis");
    await settle();
    expect(rest.chats.map((c) => c.session_id)).toEqual([null, null]);
    expect(chat().sessionId).toBe("s2");
    expect(sockets).toHaveLength(1);
    expect(ws().closed).toBeNull();
  });

  it("opens a past session without reconnecting: its history, its running job replayed, no other session's frames", async () => {
    controller.send("slow one", "analysis");
    await settle();
    ws().receive(frame("j1", 1, "job_queued", { session_id: "s1", position: 0 }));
    ws().receive(chunk("j1", 2, "s1 text"));
    rest.messages.set("s0", [
      { id: "a", role: "user", content: "old q", job_id: "j0", created_at: "t" },
      { id: "b", role: "assistant", content: "old a", job_id: "j0", created_at: "t" },
      { id: "c", role: "user", content: "running q", job_id: "j7", created_at: "t" },
    ]);
    rest.jobs.set("j7", { id: "j7", session_id: "s0", state: "running" });

    await controller.openSession("s0");
    await settle();
    expect(chat().sessionId).toBe("s0");
    expect(chat().turns.map((t) => [t.userText, t.status])).toEqual([
      ["old q", "done"],
      ["running q", "running"],
    ]);
    expect(resumes().at(-1)).toEqual({ type: "resume", job_id: "j7", after_seq: 0 });
    ws().receive(chunk("j1", 3, " more of s1")); // still followed, not shown here
    ws().receive(frame("j7", 1, "job_queued", { session_id: "s0", position: 0 }));
    ws().receive(chunk("j7", 2, "streamed"));
    expect(texts()).toEqual(["old a", "streamed"]);
    expect(sockets).toHaveLength(1);
    expect(ws().closed).toBeNull();

    controller.send("continue s0", "analysis");
    await settle();
    expect(rest.chats.at(-1)).toEqual({ session_id: "s0", content: "continue s0" });
  });

  it("shows a running turn exactly once after switching away and back", async () => {
    controller.send("slow one", "analysis");
    await settle();
    rest.jobs.set("j1", { id: "j1", session_id: "s1", state: "running" });
    const deliver = (seqs: number[]) => {
      for (const seq of seqs) ws().receive(seq === 1 ? frame("j1", 1, "job_queued", { session_id: "s1", position: 0 }) : chunk("j1", seq, `${seq}`));
    };
    deliver([1, 2, 3]);
    rest.messages.set("s0", []);
    await controller.openSession("s0");
    deliver([4]); // frames go on while another session is shown
    await controller.openSession("s1");
    expect(resumes().at(-1)).toEqual({ type: "resume", job_id: "j1", after_seq: 0 });
    deliver([5]); // the replaced follower, until the server takes the resume
    deliver([1, 2, 3, 4, 5, 6]); // the replay, then live
    expect(texts()).toEqual(["23456"]);
    expect(sockets).toHaveLength(1);
  });

  it("fails a refused message on its own turn, with the API's code and when to retry", async () => {
    rest.refuseChat = json({ code: "limit_exceeded", message: "Daily tokens used", details: { limit: "tokens_per_day" } }, 429, { "retry-after": "60" });
    controller.send("one more", "analysis");
    await settle();
    expect(chat().turns[0]).toMatchObject({
      status: "failed",
      error: { code: "limit_exceeded", message: "Daily tokens used", details: { limit: "tokens_per_day", retry_after_s: 60 } },
    });
    expect(chat().sessionId).toBeNull();
    rest.refuseChat = null;
    controller.send("later", "analysis");
    await settle();
    expect(rest.chats.at(-1)).toEqual({ session_id: null, content: "later" });
  });

  it("stops a turn over REST; a refused stop is a notice and the turn can be stopped again", async () => {
    controller.send("slow one", "analysis");
    await settle();
    await controller.stop("j1");
    expect(rest.cancels).toEqual(["j1"]);
    expect(chat().turns[0].stopping).toBe(true);
    ws().receive(frame("j1", 1, "cancelled", { usage: { input_tokens: 1, output_tokens: 0, cache_creation_tokens: 0, cache_read_tokens: 0, total_cost_usd: 0, by_model: {}, partial: true } }));
    expect(chat().turns[0].status).toBe("cancelled");

    controller.send("another", "analysis");
    await settle();
    rest.refuseCancel = json({ code: "unavailable", message: "Redis is down", details: {} }, 503);
    await controller.stop();
    expect(chat().turns[1].stopping).toBe(false);
    expect(chat().notice).toMatchObject({ code: "unavailable", message: "Redis is down" });
  });

  it("shows why a session could not be opened", async () => {
    await controller.openSession("gone");
    expect(chat()).toMatchObject({ sessionId: "gone", turns: [], notice: { code: "not_found" } });
  });
});
