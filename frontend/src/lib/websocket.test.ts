import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { ServerFrame } from "./api/protocol.gen";
import { fakeSockets, frame, type FakeSocket } from "./testing/fake-socket";
import { backoffDelay, ChatSocket, CLOSE_POLICY_VIOLATION } from "./websocket";

describe("ChatSocket", () => {
  let sockets: FakeSocket[];
  let socket: ChatSocket;
  let frames: ServerFrame[];

  const latest = () => sockets[sockets.length - 1];
  const flush = () => vi.advanceTimersByTimeAsync(0);

  beforeEach(() => {
    vi.useFakeTimers();
    const fakes = fakeSockets();
    sockets = fakes.sockets;
    frames = [];
    socket = new ChatSocket({
      url: "ws://api/ws/chat/p1",
      getToken: () => "tok-123",
      createSocket: fakes.createSocket,
      backoff: { baseMs: 100, maxMs: 1000, factor: 2 },
      random: () => 0.5,
      pingIntervalMs: 1000,
      pongTimeoutMs: 2500,
    });
    socket.on("frame", (f) => frames.push(f));
  });

  afterEach(() => {
    socket.close();
    vi.useRealTimers();
  });

  it("authenticates with the bearer subprotocol, never in the URL", async () => {
    socket.connect();
    await flush();
    expect(latest().protocols).toEqual(["bearer", "tok-123"]);
    expect(latest().url).toBe("ws://api/ws/chat/p1");
    expect(latest().url).not.toContain("tok-123");
  });

  it("follows a job tracked before the socket opens once it opens", async () => {
    socket.connect();
    socket.track("j1", 0);
    await flush();
    expect(latest().sent).toEqual([]);
    latest().open();
    expect(latest().sent).toEqual([{ type: "resume", job_id: "j1", after_seq: 0 }]);
    expect(socket.state).toBe("open");
  });

  it("resolves its URL before every connect", async () => {
    let n = 0;
    const fakes = fakeSockets();
    const other = new ChatSocket({ url: async () => `ws://api${++n}/ws/chat/p1`, getToken: () => "t", createSocket: fakes.createSocket, random: () => 0.5 });
    other.connect();
    await flush();
    fakes.latest().open();
    fakes.latest().drop();
    await vi.advanceTimersByTimeAsync(500);
    expect(fakes.sockets.map((s) => s.url)).toEqual(["ws://api1/ws/chat/p1", "ws://api2/ws/chat/p1"]);
    other.close();
  });

  it("reconnects with growing jittered delays and resumes each running job from its last seq", async () => {
    const states: string[] = [];
    socket.on("state", (s) => states.push(s));
    socket.connect();
    await flush();
    latest().open();
    latest().receive(frame("j1", 1, "job_queued", { session_id: "s1", position: 0 }));
    latest().receive(frame("j1", 2, "assistant_chunk", { content: "Hel", message_id: "m1" }));
    latest().receive(frame("j2", 1, "job_queued", { session_id: "s1", position: 1 }));
    latest().receive(frame("j2", 2, "session_end", {}));

    latest().drop();
    expect(states.at(-1)).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(74); // attempt 0: 100ms ceiling, random 0.5 -> 75ms
    expect(sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets).toHaveLength(2);

    latest().drop(); // fails before opening: the next delay doubles (150ms)
    await vi.advanceTimersByTimeAsync(149);
    expect(sockets).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets).toHaveLength(3);

    latest().open();
    // only the unfinished job is resumed, from the last seq delivered
    expect(latest().sent).toEqual([{ type: "resume", job_id: "j1", after_seq: 2 }]);
    expect(states.at(-1)).toBe("open");
  });

  it("drops frames replayed at or below the last delivered seq", async () => {
    socket.connect();
    await flush();
    latest().open();
    latest().receive(frame("j1", 1, "assistant_chunk", { content: "a", message_id: "m" }));
    latest().receive(frame("j1", 2, "assistant_chunk", { content: "b", message_id: "m" }));
    latest().receive(frame("j1", 2, "assistant_chunk", { content: "b", message_id: "m" }));
    latest().receive(frame("j1", 1, "assistant_chunk", { content: "a", message_id: "m" }));
    latest().receive(frame("j1", 3, "assistant_chunk", { content: "c", message_id: "m" }));
    expect(frames.map((f) => f.seq)).toEqual([1, 2, 3]);
  });

  it("replays a job from an earlier seq, dropping what the replaced follower still sends", async () => {
    socket.connect();
    await flush();
    latest().open();
    socket.track("j1", 0);
    for (const seq of [1, 2, 3]) latest().receive(frame("j1", seq, "assistant_chunk", { content: `${seq}`, message_id: "m" }));
    frames.length = 0;
    socket.track("j1", 0); // a view rebuilt from scratch: everything again, in order
    expect(latest().sent.at(-1)).toEqual({ type: "resume", job_id: "j1", after_seq: 0 });
    latest().receive(frame("j1", 4, "assistant_chunk", { content: "4", message_id: "m" })); // the old follower, ahead
    for (const seq of [1, 2, 3, 4, 5]) latest().receive(frame("j1", seq, "assistant_chunk", { content: `${seq}`, message_id: "m" }));
    expect(frames.map((f) => f.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it("reports malformed frames and keeps going", async () => {
    const bad: string[] = [];
    socket.on("malformed", (m) => bad.push(m.reason));
    socket.connect();
    await flush();
    latest().open();
    latest().receive("{not json");
    latest().receive(JSON.stringify([1, 2]));
    latest().receive(JSON.stringify({ seq: 1 }));
    latest().receive(frame("j1", 1, "job_started", { model: "m", claude_session_id: "c" }));
    expect(bad).toEqual(["not JSON", "no type", "no type"]);
    expect(frames).toHaveLength(1);
    expect(socket.state).toBe("open");
  });

  it("pings on an interval and reconnects when the server goes silent", async () => {
    socket.connect();
    await flush();
    const first = latest();
    first.open();
    await vi.advanceTimersByTimeAsync(1000);
    expect(first.sent).toEqual([{ type: "ping" }]);
    first.receive({ type: "pong", job_id: null, seq: 0, ts: "x" });
    await vi.advanceTimersByTimeAsync(2000);
    expect(first.sent.filter((f) => f.type === "ping")).toHaveLength(3);
    expect(first.closed).toBeNull();
    // no frame for longer than the pong timeout: closed and replaced
    await vi.advanceTimersByTimeAsync(1000);
    expect(first.closed?.code).toBe(4000);
    await vi.advanceTimersByTimeAsync(100);
    expect(sockets).toHaveLength(2);
  });

  it("stops on an authentication close instead of retrying", async () => {
    const states: string[] = [];
    socket.on("state", (s) => states.push(s));
    socket.connect();
    await flush();
    latest().drop(CLOSE_POLICY_VIOLATION);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sockets).toHaveLength(1);
    expect(states.at(-1)).toBe("unauthorized");
  });

  it("opens one socket when closed and connected again while connecting (a remounted page)", async () => {
    socket.connect();
    socket.close();
    socket.connect();
    await flush();
    expect(sockets).toHaveLength(1);
    latest().open();
    expect(socket.state).toBe("open");
  });

  it("does not reconnect after close()", async () => {
    socket.connect();
    await flush();
    latest().open();
    socket.close();
    await vi.advanceTimersByTimeAsync(5000);
    expect(sockets).toHaveLength(1);
    expect(sockets[0].closed?.code).toBe(1000);
  });

  it("track() follows a job from a seq, now and after every reconnect", async () => {
    socket.connect();
    await flush();
    latest().open();
    socket.track("j9", 0);
    expect(latest().sent).toEqual([{ type: "resume", job_id: "j9", after_seq: 0 }]);
    latest().receive(frame("j9", 1, "job_started", { model: "m", claude_session_id: "c" }));
    latest().drop();
    await vi.advanceTimersByTimeAsync(100);
    latest().open();
    expect(latest().sent).toEqual([{ type: "resume", job_id: "j9", after_seq: 1 }]);
  });
});

describe("backoffDelay", () => {
  it("grows exponentially, is capped, and stays within [ceiling/2, ceiling]", () => {
    const opts = { baseMs: 500, maxMs: 15_000, factor: 2 };
    expect(backoffDelay(0, opts, () => 0)).toBe(250);
    expect(backoffDelay(0, opts, () => 1)).toBe(500);
    expect(backoffDelay(3, opts, () => 1)).toBe(4000);
    expect(backoffDelay(20, opts, () => 1)).toBe(15_000);
    expect(backoffDelay(20, opts, () => 0)).toBe(7500);
  });
});
