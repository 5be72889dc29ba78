// The web client: login, chat list, one open conversation and a search to start direct chats.
// User-provided text reaches the DOM only through textContent (see el()), never innerHTML.

import { api, clearSession, loadSession, login, saveSession, setSessionEndedHandler } from "./api.js";
import { Realtime } from "./realtime.js";

const TYPING_SEND_INTERVAL_MS = 3000;
const TYPING_SHOWN_MS = 8000; // the server sends typing:stop after 6 s; this covers a lost one
const HISTORY_PAGE_SIZE = 50;
const CONNECTION_LABELS = { online: "Connected", connecting: "Connecting…", offline: "Offline" };

const $ = (id) => document.getElementById(id);

function el(tag, { className, text, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

const state = {
  me: null,
  chats: new Map(), // id -> chat as GET /chats returns it, kept current by events
  users: new Map(), // id -> public profile
  online: new Set(), // user ids seen online through presence:update
  openChatId: null,
  messages: [], // the open chat's messages in ascending seq; parallel to #messages' children
  typing: new Map(), // chat id -> Map(user id -> timer that hides the indicator)
  lastTypingSentAt: 0,
};

const realtime = new Realtime({
  onReady,
  onEvent,
  onStatus,
  onCursorExpired: reloadState,
  onSessionEnded: () => endSession("Your session has ended. Please log in again."),
});
setSessionEndedHandler(() => endSession("Your session has ended. Please log in again."));

// --- session -----------------------------------------------------------------------------------

function showLogin(message = "") {
  $("app-view").hidden = true;
  $("login-view").hidden = false;
  $("login-error").textContent = message;
  $("login-identifier").focus();
}

function enterApp() {
  state.me = loadSession().user;
  state.users.set(state.me.id, state.me);
  $("me-name").textContent = displayName(state.me);
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  renderConversation();
  loadChats().catch(showNotice);
  realtime.start();
}

function endSession(message = "") {
  realtime.stop();
  clearSession();
  for (const users of state.typing.values()) for (const timer of users.values()) clearTimeout(timer);
  Object.assign(state, { me: null, chats: new Map(), users: new Map(), online: new Set(), openChatId: null });
  Object.assign(state, { messages: [], typing: new Map(), lastTypingSentAt: 0 });
  userRequests.clear();
  $("chat-list").replaceChildren();
  $("messages").replaceChildren();
  showLogin(message);
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("button");
  $("login-error").textContent = "";
  button.disabled = true;
  try {
    const result = await login($("login-identifier").value.trim(), $("login-password").value);
    saveSession({ access: result.access, refresh: result.refresh, user: result.user, session_id: result.session_id });
    form.reset();
    enterApp();
  } catch (error) {
    $("login-error").textContent =
      error.code === "invalid_credentials" ? "Wrong username or password." : error.message;
  } finally {
    button.disabled = false;
  }
});

$("logout").addEventListener("click", async () => {
  await api("POST", "auth/logout").catch(() => {});
  endSession();
});

// --- loading state over REST -----------------------------------------------------------------

async function loadChats() {
  const chats = [];
  let path = "chats";
  while (path) {
    const page = await api("GET", path);
    chats.push(...page.results);
    path = page.next ? page.next.slice(page.next.indexOf("/api/v1/") + "/api/v1/".length) : null;
  }
  state.chats = new Map(chats.map((chat) => [chat.id, chat]));
  renderChatList();
  renderHeader();
}

async function reloadState() {
  await loadChats().catch(showNotice);
  if (state.openChatId) await loadHistory().catch(showNotice);
}

const userRequests = new Map();

function userName(userId) {
  const user = state.users.get(userId);
  if (user) return displayName(user);
  if (!userRequests.has(userId)) {
    const request = api("GET", `users/${userId}`)
      .then((profile) => {
        state.users.set(userId, profile);
        renderChatList();
        renderHeader();
        if (state.chats.get(state.openChatId)?.type !== "direct") renderMessages();
      })
      .catch(() => userRequests.delete(userId)); // asked again at the next render
    userRequests.set(userId, request);
  }
  return "…";
}

function displayName(user) {
  return user.display_name || user.username;
}

function chatTitle(chat) {
  if (chat.type !== "direct") return chat.title || "Untitled chat";
  return chat.peer_id ? userName(chat.peer_id) : "Deleted account";
}

// --- real-time events ------------------------------------------------------------------------

async function onReady(data, { firstConnect }) {
  state.me = data.user;
  state.users.set(state.me.id, state.me);
  $("me-name").textContent = displayName(state.me);
  // Without a stored cursor the socket resumes from `ready`; reload so nothing before it is missed.
  if (firstConnect) await reloadState();
}

function onStatus(status) {
  $("connection").dataset.state = status;
  $("connection").textContent = CONNECTION_LABELS[status];
}

function onEvent(type, data) {
  if (type === "message:new") applyNewMessage(data);
  else if (type === "message:updated") applyChangedMessage(data);
  else if (type === "message:deleted") applyChangedMessage({ id: data.message_id, deleted: true, text: "" });
  else if (type === "message:status") applyReceipt(data);
  else if (type === "typing:start" || type === "typing:stop") setTyping(data, type === "typing:start");
  else if (type === "presence:update") applyPresence(data);
  else if (type.startsWith("chat:")) {
    if (type === "chat:deleted" && data.chat_id === state.openChatId) closeChat();
    loadChats().catch(showNotice);
  }
}

function applyNewMessage(message) {
  const chat = state.chats.get(message.chat_id);
  if (!chat) {
    loadChats().catch(showNotice); // a chat this page has not seen yet
    return;
  }
  const mine = message.sender_id === state.me.id;
  setTyping({ chat_id: chat.id, user_id: message.sender_id }, false);
  // Replayed and live copies of one message are counted once: seqs only grow.
  if (message.seq > chat.last_seq) {
    Object.assign(chat, { last_seq: message.seq, last_message: message, last_activity_at: message.created_at });
    if (!mine && !isReading(chat.id)) chat.unread_count += 1;
  }
  if (chat.id === state.openChatId) {
    const follow = mine || isNearBottom();
    if (addMessage(message) && follow) scrollToBottom();
    markRead();
  }
  renderChatList();
}

function applyChangedMessage(change) {
  const index = state.messages.findIndex((message) => message.id === change.id);
  if (index !== -1) {
    state.messages[index] = { ...state.messages[index], ...change };
    $("messages").children[index].replaceWith(messageNode(state.messages[index]));
  }
  for (const chat of state.chats.values()) {
    if (chat.last_message?.id === change.id) chat.last_message = { ...chat.last_message, ...change };
  }
  renderChatList();
}

function applyReceipt({ chat_id, user_id, read_seq }) {
  const chat = state.chats.get(chat_id);
  if (!chat || user_id !== state.me.id) return;
  // Read on another device of ours.
  chat.last_read_seq = Math.max(chat.last_read_seq, read_seq);
  if (chat.last_read_seq >= chat.last_seq) chat.unread_count = 0;
  renderChatList();
}

function applyPresence({ user_id, status, last_seen }) {
  if (status === "online") state.online.add(user_id);
  else state.online.delete(user_id);
  const user = state.users.get(user_id);
  if (user && last_seen) user.last_seen = last_seen;
  renderChatList();
  renderHeader();
}

function setTyping({ chat_id, user_id }, active) {
  if (user_id === state.me.id) return;
  const typists = state.typing.get(chat_id) ?? new Map();
  if (!active && !typists.has(user_id)) return;
  clearTimeout(typists.get(user_id));
  if (active) typists.set(user_id, setTimeout(() => setTyping({ chat_id, user_id }, false), TYPING_SHOWN_MS));
  else typists.delete(user_id);
  state.typing.set(chat_id, typists);
  renderChatList();
  renderHeader();
}

function typingUserIds(chatId) {
  return [...(state.typing.get(chatId)?.keys() ?? [])];
}

// --- the open chat -----------------------------------------------------------------------------

async function openChat(chatId) {
  if (state.openChatId !== chatId) stopTyping();
  state.openChatId = chatId;
  state.messages = [];
  $("messages").replaceChildren();
  renderConversation();
  renderChatList();
  $("message-input").focus();
  await loadHistory().catch(showNotice);
}

function closeChat() {
  stopTyping();
  state.openChatId = null;
  state.messages = [];
  $("messages").replaceChildren();
  renderConversation();
}

async function loadHistory() {
  const chatId = state.openChatId;
  const page = await api("GET", `chats/${chatId}/messages?limit=${HISTORY_PAGE_SIZE}`);
  if (state.openChatId !== chatId) return;
  state.messages = page.results;
  renderMessages();
  scrollToBottom();
  markRead();
}

// Inserts in seq order; false if the message is already shown (replays repeat messages).
function addMessage(message) {
  if (state.messages.some((shown) => shown.id === message.id)) return false;
  const index = state.messages.findIndex((shown) => shown.seq > message.seq);
  const node = messageNode(message);
  if (index === -1) {
    state.messages.push(message);
    $("messages").append(node);
  } else {
    state.messages.splice(index, 0, message);
    $("messages").children[index].before(node);
  }
  renderEmptyState();
  return true;
}

function isReading(chatId) {
  return chatId === state.openChatId && document.visibilityState === "visible";
}

function markRead() {
  const chat = state.chats.get(state.openChatId);
  const last = state.messages.at(-1);
  if (!chat || !last || !isReading(chat.id)) return;
  if (last.seq > chat.last_read_seq) {
    const data = { chat_id: chat.id, up_to_seq: last.seq };
    if (!realtime.notify("message:read", data)) {
      api("POST", `chats/${chat.id}/read`, { up_to_seq: last.seq }).catch(() => {});
    }
    chat.last_read_seq = last.seq;
  }
  if (chat.unread_count) {
    chat.unread_count = 0;
    renderChatList();
  }
}

document.addEventListener("visibilitychange", markRead);

// --- composing -----------------------------------------------------------------------------------

$("send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sendMessage();
});

$("message-input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendMessage();
  }
});

$("message-input").addEventListener("input", () => {
  fitComposer();
  if (!state.openChatId) return;
  if (!$("message-input").value.trim()) {
    stopTyping();
    return;
  }
  const now = Date.now();
  if (now - state.lastTypingSentAt < TYPING_SEND_INTERVAL_MS) return;
  if (realtime.notify("typing:start", { chat_id: state.openChatId })) state.lastTypingSentAt = now;
});

function fitComposer() {
  const input = $("message-input");
  input.style.height = "auto";
  input.style.height = `${input.scrollHeight + 2}px`; // + the borders; CSS caps it with max-height
}

function stopTyping() {
  if (state.lastTypingSentAt && state.openChatId) realtime.notify("typing:stop", { chat_id: state.openChatId });
  state.lastTypingSentAt = 0;
}

async function sendMessage() {
  const input = $("message-input");
  const text = input.value.trim();
  const chatId = state.openChatId;
  if (!text || !chatId) return;
  input.value = "";
  fitComposer();
  stopTyping();
  // The client id makes a retry over REST safe: the server stores the message once.
  const data = { chat_id: chatId, client_id: newClientId(), text };
  try {
    let message;
    try {
      ({ message } = await realtime.request("message:send", data));
    } catch (error) {
      if (error.code && error.code !== "disconnected" && error.code !== "timeout") throw error;
      message = await api("POST", `chats/${chatId}/messages`, { client_id: data.client_id, text });
    }
    applyNewMessage(message);
  } catch (error) {
    if (!input.value) input.value = text;
    showNotice(error);
  }
}

function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // randomUUID needs a secure context; a plain-http deployment still gets a random id.
  return [...crypto.getRandomValues(new Uint8Array(16))].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

// --- starting a direct chat ----------------------------------------------------------------------

let searchTimer = null;

$("search-input").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(searchUsers, 250);
});
$("search-input").addEventListener("keydown", (event) => {
  if (event.key === "Escape") closeSearch();
});
$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(searchTimer);
  searchUsers();
});

async function searchUsers() {
  const query = $("search-input").value.trim();
  if (!query) {
    closeSearch();
    return;
  }
  const page = await api("GET", `users/search?q=${encodeURIComponent(query)}`).catch(() => null);
  if (query !== $("search-input").value.trim()) return; // a newer search is on its way
  const users = (page?.results ?? []).filter((user) => user.id !== state.me.id);
  const items = users.map((user) => {
    const name = displayName(user);
    const button = el("button", { className: "list-item", attrs: { type: "button" } }, [
      avatar(name, user.id),
      el("span", { className: "item-main" }, [
        el("span", { className: "item-name", text: name }),
        el("span", { className: "item-detail", text: `@${user.username}` }),
      ]),
    ]);
    button.addEventListener("click", () => startDirectChat(user));
    return el("li", {}, [button]);
  });
  if (!items.length) items.push(el("li", { className: "empty", text: page ? "No users found." : "Search failed." }));
  $("search-results").replaceChildren(...items);
  $("search-results").hidden = false;
}

function closeSearch() {
  $("search-input").value = "";
  $("search-results").hidden = true;
  $("search-results").replaceChildren();
}

async function startDirectChat(user) {
  state.users.set(user.id, user);
  try {
    const chat = await api("POST", "chats/direct", { user_id: user.id });
    state.chats.set(chat.id, chat);
    closeSearch();
    await openChat(chat.id);
  } catch (error) {
    showNotice(error);
  }
}

// --- rendering -------------------------------------------------------------------------------------

function avatar(name, userId) {
  const letter = el("span", { className: "avatar", text: (name.trim()[0] ?? "?").toUpperCase() });
  letter.setAttribute("aria-hidden", "true");
  if (!userId) return letter;
  const online = state.online.has(userId);
  return el("span", { className: "avatar-wrap" }, [
    letter,
    el("span", { className: online ? "presence online" : "presence", attrs: { "aria-hidden": "true" } }),
    el("span", { className: "visually-hidden", text: online ? "online" : "" }),
  ]);
}

function previewText(chat) {
  if (typingUserIds(chat.id).length) return "typing…";
  const message = chat.last_message;
  if (!message) return "No messages yet";
  const body = message.deleted ? "Message deleted" : message.text || "Attachment";
  return message.sender_id === state.me.id ? `You: ${body}` : body;
}

function renderChatList() {
  if (!state.me) return;
  const focusedId = document.activeElement?.dataset?.chatId;
  const chats = [...state.chats.values()].sort((a, b) =>
    (b.last_activity_at ?? "").localeCompare(a.last_activity_at ?? ""),
  );
  const items = chats.map((chat) => {
    const title = chatTitle(chat);
    const isTyping = typingUserIds(chat.id).length > 0;
    const button = el("button", { className: "list-item", attrs: { type: "button", "data-chat-id": chat.id } }, [
      avatar(title, chat.type === "direct" ? chat.peer_id : null),
      el("span", { className: "item-main" }, [
        el("span", { className: "item-name", text: title }),
        el("span", { className: isTyping ? "item-detail typing" : "item-detail", text: previewText(chat) }),
      ]),
    ]);
    if (chat.unread_count > 0) {
      const unread = el("span", { className: "visually-hidden", text: " unread" });
      button.append(el("span", { className: "badge" }, [String(chat.unread_count), unread]));
    }
    if (chat.id === state.openChatId) button.setAttribute("aria-current", "true");
    button.addEventListener("click", () => openChat(chat.id));
    return el("li", {}, [button]);
  });
  if (!items.length) items.push(el("li", { className: "empty", text: "No chats yet. Search for someone above." }));
  $("chat-list").replaceChildren(...items);
  if (focusedId) $("chat-list").querySelector(`[data-chat-id="${CSS.escape(focusedId)}"]`)?.focus();
}

function renderConversation() {
  const open = Boolean(state.openChatId);
  $("send-form").hidden = !open;
  renderHeader();
  renderEmptyState();
}

function renderHeader() {
  const chat = state.chats.get(state.openChatId);
  $("chat-title").textContent = chat ? chatTitle(chat) : "No chat open";
  const status = $("chat-status");
  const typists = chat ? typingUserIds(chat.id).map(userName) : [];
  status.classList.toggle("typing", typists.length > 0);
  if (typists.length) status.textContent = `${typists.join(", ")} ${typists.length > 1 ? "are" : "is"} typing…`;
  else if (!chat) status.textContent = "";
  else if (chat.type !== "direct") status.textContent = `${chat.member_count} members`;
  else status.textContent = presenceText(chat.peer_id);
}

function presenceText(userId) {
  if (state.online.has(userId)) return "online";
  const lastSeen = state.users.get(userId)?.last_seen;
  return lastSeen ? `last seen ${formatDateTime(lastSeen)}` : "";
}

function renderMessages() {
  $("messages").replaceChildren(...state.messages.map(messageNode));
  renderEmptyState();
}

function renderEmptyState() {
  const empty = $("empty-conversation");
  empty.hidden = state.messages.length > 0;
  empty.textContent = state.openChatId
    ? "No messages here yet. Say hello!"
    : "Pick a chat on the left, or search for someone to message.";
}

function messageNode(message) {
  const mine = message.sender_id === state.me.id;
  const chat = state.chats.get(message.chat_id);
  const item = el("li", { className: mine ? "message mine" : "message", attrs: { "data-message-id": message.id } });
  if (!mine && chat?.type !== "direct" && message.sender_id) {
    item.append(el("span", { className: "sender", text: userName(message.sender_id) }));
  }
  const text = message.deleted ? "Message deleted" : message.text || "Attachment";
  item.append(el("p", { className: message.deleted ? "text deleted" : "text", text }));
  const time = formatTime(message.created_at) + (message.edited_at ? " · edited" : "");
  item.append(el("time", { text: time, attrs: { datetime: message.created_at } }));
  return item;
}

function isNearBottom() {
  const scroller = $("message-scroller");
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
}

function scrollToBottom() {
  const scroller = $("message-scroller");
  scroller.scrollTop = scroller.scrollHeight;
}

function formatTime(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function formatDateTime(iso) {
  return new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

let noticeTimer = null;

function showNotice(error) {
  $("notice").textContent = typeof error === "string" ? error : error.message || "Something went wrong.";
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => ($("notice").textContent = ""), 6000);
}

// --- start -----------------------------------------------------------------------------------------

if (loadSession()) enterApp();
else showLogin();
