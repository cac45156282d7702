/**
 * The dashboard's entry: views (the list at `#`, a limit at `#limit/<name>`), polling about every
 * 1.5 s while the tab is visible, the signed-out state, and the admin actions. Bundled at build
 * time by scripts/build-dashboard.mjs and inlined into page.html under a hash-pinned CSP.
 */

import { span } from "../../client/format";
import type { LimitRecord, LimitSnapshot } from "../../client/index";
import { listAllLimits } from "../../client/limits";
import { type DetailData, renderDetail } from "./detail";
import { $, input, tickTimes } from "./dom";
import { type ListData, renderList } from "./list";
import { clearError, notice, setError } from "./notices";
import { describe, isCode, limitKey, Session } from "./session";
import { wireActions } from "./actions";

const POLL_INTERVAL_MS = 1500;
/** History changes per 10 s bucket: reading it every few seconds is live enough. */
const HISTORY_INTERVAL_MS = 5000;

const session = new Session();

const state = {
  /** A 401 stopped the polling until a token is given: the page is signed out. */
  needToken: false,
  /** The token is the client's: lease listings, metrics and admin actions are refused (403). */
  readOnly: false,
  list: { limits: [], snapshots: null, loaded: false } as ListData,
  detail: null as DetailData | null,
  historyAt: 0,
  editDirty: false,
  lastSuccessAt: 0,
  failing: false,
  polling: false,
  pollAgain: false,
  timer: 0 as ReturnType<typeof setTimeout> | 0,
  /** Bumped on every view change, so an answer for a view that is gone is dropped. */
  generation: 0,
};

// ── Session ──

function askForToken(reason: string): void {
  const wasAsking = state.needToken;
  state.needToken = true;
  $("token-reason").textContent = reason ? `The API said: ${reason}` : "";
  $("token-view").hidden = false;
  $("token-view").dataset.signedOut = "true";
  $("token-cancel").dataset.required = "true";
  $("token-cancel").hidden = true;
  showView(false);
  if (!wasAsking) {
    input("token-input").focus();
  }
}

function setReadOnly(readOnly: boolean): void {
  state.readOnly = readOnly;
  for (const element of document.querySelectorAll<HTMLElement>(".admin-only")) {
    element.hidden = readOnly;
  }
  renderSession();
}

function renderSession(): void {
  const note = $("session-note");
  if (state.needToken) {
    note.textContent = "Signed out";
  } else if (!session.token) {
    note.textContent = "No token (anonymous access is on)";
  } else {
    note.textContent = state.readOnly ? "Client token: read-only" : "Token set";
  }
  $("forget-button").hidden = !session.token;
  $("token-button").textContent = session.token ? "Change token" : "Set token";
}

function renderLive(): void {
  const live = $("live");
  if (state.needToken) {
    live.dataset.state = "paused";
    live.textContent = "Signed out: needs a token";
  } else if (document.hidden) {
    live.dataset.state = "paused";
    live.textContent = "Paused while hidden";
  } else if (state.failing) {
    live.dataset.state = "failing";
    live.textContent = "Retrying…";
  } else if (state.lastSuccessAt) {
    live.dataset.state = "live";
    live.textContent = `Live · updated ${span((Date.now() - state.lastSuccessAt) / 1000)} ago`;
  }
}

// ── Loading ──

async function listLimits(): Promise<LimitRecord[]> {
  return (await listAllLimits(session.client.limits)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Every limit's waiting count, last-hour peaks and refusals: one call, admin only (else null). */
async function snapshots(): Promise<Map<string, LimitSnapshot> | null> {
  if (state.readOnly) {
    return null;
  }
  const byName = new Map<string, LimitSnapshot>();
  try {
    for (let offset = 0; ; ) {
      const page = await session.client.limits.metrics({ offset });
      for (const limit of page.limits) {
        byName.set(limit.name, limit);
      }
      offset += page.limits.length;
      if (!page.truncated || page.limits.length === 0) {
        return byName;
      }
    }
  } catch (error) {
    if (isCode(error, "forbidden")) {
      return null;
    }
    throw error;
  }
}

async function loadDetail(name: string, previous: DetailData | null): Promise<DetailData> {
  const key = limitKey(name, state.list.limits);
  const orNull = <T>(promise: Promise<T>, ...codes: string[]): Promise<T | null> =>
    promise.catch((error: unknown) => {
      if (isCode(error, ...codes)) {
        return null;
      }
      throw error;
    });
  const wantHistory = previous?.name !== name || Date.now() - state.historyAt >= HISTORY_INTERVAL_MS;
  const [record, leases, history] = await Promise.all([
    orNull(session.client.limits.get(key), "not_found"),
    state.readOnly ? null : orNull(session.client.limits.leases(key), "forbidden", "not_found"),
    wantHistory ? orNull(session.client.limits.history(key), "not_found") : (previous?.history ?? null),
  ]);
  if (wantHistory) {
    state.historyAt = Date.now();
  }
  return { name, record, leases: record ? leases : null, history: record ? history : null };
}

// ── Views and polling ──

type View = { kind: "list" } | { kind: "detail"; name: string };

function currentView(): View {
  const match = location.hash.match(/^#limit\/(.+)$/);
  if (match?.[1]) {
    try {
      return { kind: "detail", name: decodeURIComponent(match[1]) };
    } catch {
      // A hand-edited hash that is not valid percent-encoding: show the list.
    }
  }
  return { kind: "list" };
}

function showView(moveFocus: boolean): void {
  state.generation += 1;
  const view = currentView();
  // Signed out, the page shows nothing it cannot vouch for: no stale list, no stale limit.
  $("list-view").hidden = state.needToken || view.kind !== "list";
  $("detail-view").hidden = state.needToken || view.kind !== "detail";
  if (view.kind === "detail") {
    if (state.detail?.name !== view.name) {
      state.detail = null;
      state.editDirty = false;
      $("detail-heading").textContent = view.name;
      $("detail-body").hidden = true;
      $("detail-missing").hidden = true;
      $("detail-status").hidden = true;
      $("edit-error").textContent = "";
    }
    document.title = `${view.name} · edge-gcl dashboard`;
  } else {
    document.title = "edge-gcl dashboard";
  }
  if (moveFocus && !state.needToken) {
    $(view.kind === "list" ? "list-heading" : "detail-heading").focus();
  }
}

async function refresh(): Promise<void> {
  const generation = state.generation;
  const view = currentView();
  if (view.kind === "list") {
    const [limits, byName] = await Promise.all([listLimits(), snapshots()]);
    if (generation !== state.generation) {
      return;
    }
    state.list = { limits, snapshots: byName, loaded: true };
    renderList(state.list);
  } else {
    const detail = await loadDetail(view.name, state.detail);
    if (generation !== state.generation) {
      return;
    }
    state.detail = detail;
    renderDetail(detail, session.now, state.editDirty);
  }
}

/** One poll now, then one every POLL_INTERVAL_MS after the previous one ends. */
async function poll(): Promise<void> {
  clearTimeout(state.timer);
  if (state.polling) {
    state.pollAgain = true;
    return;
  }
  // Polling resumes on a token (the token form) or when the tab shows again.
  if (state.needToken || document.hidden) {
    renderLive();
    renderSession();
    return;
  }
  state.polling = true;
  try {
    await refresh();
    state.lastSuccessAt = Date.now();
    state.failing = false;
    clearError("poll");
  } catch (error) {
    state.failing = !isCode(error, "unauthorized");
    if (state.failing) {
      setError("poll", `Live update failed: ${describe(error)}`);
    }
  } finally {
    state.polling = false;
    renderSession();
    renderLive();
    if (state.pollAgain) {
      state.pollAgain = false;
      void poll();
    } else if (!state.needToken) {
      state.timer = setTimeout(() => void poll(), POLL_INTERVAL_MS);
    }
  }
}

session.onUnauthorized = askForToken;
session.onForbidden = () => setReadOnly(true);

wireActions({
  session,
  detail: () => state.detail,
  signedIn() {
    state.needToken = false;
    $("token-cancel").dataset.required = "false";
    $("token-view").dataset.signedOut = "false";
    setReadOnly(false);
    $("token-view").hidden = true;
    clearError("poll");
    showView(false);
    void poll();
  },
  forgetToken() {
    session.setToken("");
    setReadOnly(false);
    notice("Token forgotten.");
    void poll();
  },
  editing(dirty) {
    state.editDirty = dirty;
  },
  poll,
  notice,
});

window.addEventListener("hashchange", () => {
  showView(true);
  void poll();
});

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) {
    void poll();
  } else {
    renderLive();
  }
});

showView(false);
renderSession();
setInterval(() => {
  tickTimes(session.now);
  renderLive();
}, 1000);
void poll();
