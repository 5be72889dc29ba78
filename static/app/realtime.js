// The one WebSocket of this tab: ticket handshake, request/ack, reconnect and catch-up.
//
// Durable events carry a stream `cursor`. After every (re)connect the client asks for the events
// after the last cursor it persisted (`sync:request`). The cursor is persisted only from
// `sync:done` and from live events that arrive after the final `sync:done` on that socket:
// persisting a live event's cursor while the replay is still running would skip the rest of
// the replay on the next reconnect.

import { api, ApiError, loadCursor, saveCursor } from "./api.js";

const CLOSE_SESSION_ENDED = 4401;
const ACK_TIMEOUT_MS = 10000;
const MAX_BACKOFF_MS = 8000;

export class Realtime {
  // handlers: onReady(readyData, { firstConnect }), onEvent(type, data), onStatus(status),
  // onCursorExpired(), onSessionEnded()
  constructor(handlers) {
    this.handlers = handlers;
    this.socket = null;
    this.stopped = true;
    this.generation = 0; // bumped by stop(): a connect() begun before it must not open a socket
    this.attempt = 0;
    this.retryTimer = null;
    this.nextRef = 1;
    this.pending = new Map();
  }

  get connected() {
    return this.socket?.readyState === WebSocket.OPEN && this.socket.ready;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.generation += 1;
    clearTimeout(this.retryTimer);
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
    this.failPending("disconnected");
  }

  async connect() {
    if (this.stopped) return;
    const generation = this.generation;
    this.handlers.onStatus("connecting");
    let ticket;
    try {
      ({ ticket } = await api("POST", "auth/ws-ticket"));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return; // the session is over
      this.scheduleReconnect();
      return;
    }
    if (this.stopped || generation !== this.generation) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/?ticket=${encodeURIComponent(ticket)}`);
    socket.ready = false; // `ready` frame received
    socket.synced = false; // final `sync:done` received
    this.socket = socket;
    socket.addEventListener("message", (event) => this.receive(socket, event));
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.failPending("disconnected");
      this.handlers.onStatus("offline");
      if (event.code === CLOSE_SESSION_ENDED) this.handlers.onSessionEnded();
      else this.scheduleReconnect();
    });
  }

  scheduleReconnect() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    const ceiling = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt);
    this.attempt += 1;
    // Jitter spreads out the reconnects of many clients after a server restart.
    this.retryTimer = setTimeout(() => this.connect(), ceiling / 2 + Math.random() * (ceiling / 2));
  }

  async receive(socket, event) {
    if (this.socket !== socket) return;
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    const { type, ref, data, cursor } = frame;
    if (type === "ready") {
      socket.ready = true;
      this.attempt = 0;
      this.handlers.onStatus("online");
      const stored = loadCursor();
      try {
        await this.handlers.onReady(data, { firstConnect: stored === null });
      } finally {
        this.requestSync(stored ?? data.cursor);
      }
    } else if (type === "ack" || type === "error") {
      this.settle(ref, type, data);
      if (type === "error" && data.code === "cursor_expired") {
        // The server cannot replay that far back: reload over REST and resume from here.
        saveCursor(data.details.cursor, { force: true });
        socket.synced = true;
        this.handlers.onCursorExpired();
      }
    } else if (type === "sync:done") {
      saveCursor(data.cursor);
      if (data.has_more) this.requestSync(data.cursor);
      else socket.synced = true;
    } else {
      this.handlers.onEvent(type, data);
      if (cursor !== undefined && socket.synced) saveCursor(cursor);
    }
  }

  requestSync(cursor) {
    this.notify("sync:request", { cursor });
  }

  // A frame whose answer matters: resolves with the `ack` data, rejects with the `error` data.
  request(type, data) {
    if (!this.connected) return Promise.reject(new Error("disconnected"));
    const ref = String(this.nextRef++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.settle(ref, "error", { code: "timeout" }), ACK_TIMEOUT_MS);
      this.pending.set(ref, { resolve, reject, timer });
      this.socket.send(JSON.stringify({ type, ref, data }));
    });
  }

  // A fire-and-forget frame (typing, read receipts, sync requests).
  notify(type, data) {
    if (this.connected) this.socket.send(JSON.stringify({ type, data }));
    return this.connected;
  }

  settle(ref, type, data) {
    const pending = this.pending.get(ref);
    if (!pending) {
      if (type === "error") console.warn("WebSocket error frame", data);
      return;
    }
    this.pending.delete(ref);
    clearTimeout(pending.timer);
    if (type === "ack") pending.resolve(data);
    else pending.reject(Object.assign(new Error(data.message || data.code), data));
  }

  failPending(code) {
    for (const ref of [...this.pending.keys()]) this.settle(ref, "error", { code });
  }
}
