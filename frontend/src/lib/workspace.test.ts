import { describe, expect, it } from "vitest";

import type { ServerFrame } from "./api/protocol.gen";
import { chatReducer, initialChatState, type ChatAction } from "./chat-state";
import { buildTree, formatSize, languageOf } from "./file-tree";
import { type NotifierEnv, TurnNotifier } from "./notifier";
import { archiveUrl, type UploadXhr, uploadToWorkspace } from "./upload";

describe("buildTree", () => {
  it("nests files under their folders, folders first, and makes missing parents", () => {
    const tree = buildTree([
      { path: "z.txt", kind: "file", size: 3 },
      { path: "src", kind: "dir", size: 0 },
      { path: "src/b.wdw", kind: "file", size: 10 },
      { path: "src/a.wdw", kind: "file", size: 20 },
      { path: "deep/er/x.py", kind: "file", size: 1 },
      { path: "link", kind: "link", size: 0 },
    ]);
    expect(tree.map((n) => [n.name, n.kind])).toEqual([["deep", "dir"], ["src", "dir"], ["link", "link"], ["z.txt", "file"]]);
    expect(tree[1].children.map((n) => n.path)).toEqual(["src/a.wdw", "src/b.wdw"]);
    expect(tree[0].children[0].children[0]).toMatchObject({ path: "deep/er/x.py", size: 1 });
    expect(formatSize(1536)).toBe("1.5 KB");
    expect(languageOf("converted/app.py")).toBe("python");
    expect(languageOf("WIN_Main.wdw")).toBeNull();
  });
});

describe("files_changed", () => {
  it("keeps a turn's changed files", () => {
    const actions: ChatAction[] = [
      { type: "send", key: "k", content: "convert", context: "conversion" },
      { type: "accepted", key: "k", jobId: "j1", sessionId: "s1" },
      {
        type: "frame",
        frame: { type: "files_changed", job_id: "j1", seq: 3, ts: "t", commit: "abc", total: 1, truncated: false, files: [{ path: "a.py", status: "added", additions: 2, deletions: 0 }] } as ServerFrame,
      },
    ];
    const state = actions.reduce(chatReducer, initialChatState);
    expect(state.turns[0].changes).toEqual({ commit: "abc", total: 1, truncated: false, files: [{ path: "a.py", status: "added", additions: 2, deletions: 0 }] });
  });
});

function fakeEnv(permission = "granted") {
  const shown: string[] = [];
  let listener: () => void = () => undefined;
  const env = {
    hiddenNow: false,
    hidden: () => env.hiddenNow,
    permission: () => permission,
    requestPermission: async () => "granted",
    show: (title: string, body: string) => shown.push(`${title}: ${body}`),
    onVisibilityChange: (l: () => void) => {
      listener = l;
      return () => undefined;
    },
    flip(hidden: boolean) {
      env.hiddenNow = hidden;
      listener();
    },
  };
  return { env: env as NotifierEnv & typeof env, shown };
}

describe("TurnNotifier", () => {
  it("notifies when the tab was hidden while the turn ran, even if visible again", () => {
    const { env, shown } = fakeEnv();
    const notifier = new TurnNotifier(env);
    notifier.watch("j1");
    env.flip(true);
    env.flip(false);
    expect(notifier.ended("j1", "Claude finished", "convert")).toBe(true);
    expect(shown).toEqual(["Claude finished: convert"]);
  });

  it("stays quiet for a turn watched in a visible tab, an unknown job, or without permission", () => {
    const { env, shown } = fakeEnv();
    const notifier = new TurnNotifier(env);
    notifier.watch("j1");
    expect(notifier.ended("j1", "t", "b")).toBe(false);
    expect(notifier.ended("other", "t", "b")).toBe(false);
    const denied = fakeEnv("denied");
    const quiet = new TurnNotifier(denied.env);
    quiet.watch("j2");
    denied.env.flip(true);
    expect(quiet.ended("j2", "t", "b")).toBe(false);
    expect(shown).toEqual([]);
  });
});

class FakeXhr implements UploadXhr {
  upload: UploadXhr["upload"] = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  status = 0;
  statusText = "";
  responseText = "";
  opened = "";
  sent: FormData | null = null;
  open(method: string, url: string) {
    this.opened = `${method} ${url}`;
  }
  getResponseHeader() {
    return null;
  }
  send(body: FormData) {
    this.sent = body;
  }
  answer(status: number, body: unknown) {
    this.status = status;
    this.responseText = JSON.stringify(body);
    this.onload?.();
  }
}

describe("uploadToWorkspace", () => {
  it("reports progress and resolves with the result", async () => {
    const xhr = new FakeXhr();
    const progress: number[] = [];
    const done = uploadToWorkspace("p1", new File(["zipbytes"], "erp.zip"), (p) => progress.push(p), { xhr, path: "in" });
    expect(xhr.opened).toBe("POST /api/projects/p1/files");
    expect((xhr.sent?.get("file") as File).name).toBe("erp.zip");
    expect(xhr.sent?.get("path")).toBe("in");
    xhr.upload.onprogress?.({ loaded: 5, total: 10, lengthComputable: true });
    xhr.answer(201, { files: 3, bytes: 8, commit: "c" });
    await expect(done).resolves.toEqual({ files: 3, bytes: 8, commit: "c" });
    expect(progress).toEqual([0.5, 1]);
    expect(archiveUrl("p1", "a b")).toBe("/api/projects/p1/archive?path=a%20b");
  });

  it("rejects with the API's error code", async () => {
    const xhr = new FakeXhr();
    const done = uploadToWorkspace("p1", new File(["x"], "a.zip"), () => undefined, { xhr });
    xhr.answer(400, { code: "bad_request", message: "entry '../x': it would escape the workspace", details: {} });
    await expect(done).rejects.toMatchObject({ status: 400, code: "bad_request" });
  });
});
