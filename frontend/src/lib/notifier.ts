/**
 * A browser notification when a turn that ran while the tab was hidden ends: the user
 * left for another tab during a long conversion and should hear it is done.
 */
export interface NotifierEnv {
  /** Whether the page is hidden now (document.hidden). */
  hidden(): boolean;
  /** "granted" | "denied" | "default" | "unsupported". */
  permission(): string;
  requestPermission(): Promise<string>;
  show(title: string, body: string, tag: string): void;
  onVisibilityChange(listener: () => void): () => void;
}

export class TurnNotifier {
  /** Turns (job ids) running or queued, and whether the tab was hidden while they were. */
  private readonly watched = new Map<string, boolean>();
  private readonly stop: () => void;

  constructor(private readonly env: NotifierEnv) {
    this.stop = env.onVisibilityChange(() => {
      if (!env.hidden()) return;
      for (const jobId of this.watched.keys()) this.watched.set(jobId, true);
    });
  }

  /** Ask for permission (call from a user gesture: sending a message). */
  prepare(): void {
    if (this.env.permission() === "default") void this.env.requestPermission().catch(() => undefined);
  }

  /** A turn of this page is queued or running. */
  watch(jobId: string): void {
    if (!this.watched.has(jobId)) this.watched.set(jobId, this.env.hidden());
  }

  /** The turn ended; notifies when the tab was hidden at some point while it ran. */
  ended(jobId: string, title: string, body: string): boolean {
    const wasHidden = this.watched.get(jobId);
    this.watched.delete(jobId);
    if (wasHidden === undefined || !(wasHidden || this.env.hidden())) return false;
    if (this.env.permission() !== "granted") return false;
    this.env.show(title, body, jobId);
    return true;
  }

  close(): void {
    this.stop();
  }
}

/** The real browser's document and Notification API. */
export function browserNotifierEnv(): NotifierEnv {
  const supported = typeof window !== "undefined" && "Notification" in window;
  return {
    hidden: () => typeof document !== "undefined" && document.hidden,
    permission: () => (supported ? Notification.permission : "unsupported"),
    requestPermission: () => (supported ? Notification.requestPermission() : Promise.resolve("unsupported")),
    show: (title, body, tag) => {
      if (supported) new Notification(title, { body, tag });
    },
    onVisibilityChange: (listener) => {
      if (typeof document === "undefined") return () => undefined;
      document.addEventListener("visibilitychange", listener);
      return () => document.removeEventListener("visibilitychange", listener);
    },
  };
}
