/** Test doubles of the chat socket's transport, scripted by the tests. */
import type { ServerFrame } from "../api/protocol.gen";
import type { SocketFactory, WebSocketLike } from "../websocket";

/** A scripted socket: the test opens it, feeds it frames and closes it. */
export class FakeSocket implements WebSocketLike {
  readyState = 0;
  protocol = "";
  sent: Record<string, unknown>[] = [];
  closed: { code?: number; reason?: string } | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(code?: number, reason?: string): void {
    this.closed = { code, reason };
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.protocol = "bearer";
    this.onopen?.({});
  }
  receive(data: unknown): void {
    this.onmessage?.({ data: typeof data === "string" ? data : JSON.stringify(data) });
  }
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: "" });
  }
}

/** A socket factory that keeps every socket it made. */
export function fakeSockets(): { sockets: FakeSocket[]; createSocket: SocketFactory; latest: () => FakeSocket } {
  const sockets: FakeSocket[] = [];
  const createSocket: SocketFactory = (url, protocols) => {
    const ws = new FakeSocket(url, protocols);
    sockets.push(ws);
    return ws;
  };
  return { sockets, createSocket, latest: () => sockets[sockets.length - 1] };
}

/** A server frame of job `jobId` (fields the test does not care about left out). */
export function frame(jobId: string, seq: number, type: string, extra: Record<string, unknown> = {}): ServerFrame {
  return { job_id: jobId, seq, ts: "2025-01-01T00:00:00Z", type, ...extra } as unknown as ServerFrame;
}
