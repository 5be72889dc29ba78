// REST calls under /api/v1/ with the device session's tokens.
//
// The tokens live in sessionStorage: one login per tab, gone when the tab closes, and never in
// a cookie, so the API needs no CSRF protection. Storage is read on every call, so all modules
// see a refreshed pair at once.

const SESSION_KEY = "messenger.session";
const CURSOR_KEY = "messenger.cursor";

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `Request failed (HTTP ${status}).`);
    this.status = status;
    this.code = body?.code || "http_error";
    this.details = body?.details || null;
  }
}

export function loadSession() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY));
  } catch {
    return null;
  }
}

export function saveSession(session) {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

export function clearSession() {
  sessionStorage.removeItem(SESSION_KEY);
  sessionStorage.removeItem(CURSOR_KEY);
}

// The stream cursor that a reconnecting socket resumes from (see realtime.js).
export function loadCursor() {
  const value = sessionStorage.getItem(CURSOR_KEY);
  return value === null ? null : Number(value);
}

export function saveCursor(cursor, { force = false } = {}) {
  const current = loadCursor();
  if (force || current === null || cursor > current) sessionStorage.setItem(CURSOR_KEY, String(cursor));
}

let onSessionEnded = () => {};
export function setSessionEndedHandler(handler) {
  onSessionEnded = handler;
}

async function request(method, path, body, access) {
  const headers = { Accept: "application/json" };
  if (access) headers.Authorization = `Bearer ${access}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/api/v1/${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export function login(identifier, password) {
  return request("POST", "auth/login", { identifier, password, device_name: "web" });
}

// Refresh tokens rotate and are single-use, so concurrent 401s must share one refresh.
let refreshing = null;

function refreshTokens() {
  refreshing ??= (async () => {
    const session = loadSession();
    const pair = await request("POST", "auth/refresh", { refresh: session.refresh });
    saveSession({ ...loadSession(), access: pair.access, refresh: pair.refresh });
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

export async function api(method, path, body) {
  const session = loadSession();
  if (!session) throw new ApiError(401, { code: "not_authenticated", message: "Not logged in." });
  try {
    return await request(method, path, body, session.access);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    if (error.code !== "token_not_valid") {
      onSessionEnded();
      throw error;
    }
  }
  // The access token expired. Another call may have refreshed it meanwhile; if not, refresh.
  try {
    if (loadSession()?.access === session.access) await refreshTokens();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) onSessionEnded();
    throw error;
  }
  return request(method, path, body, loadSession().access);
}
