// The staff view of the page (index.html's `data-view="admin"` section): look an account up,
// ban or mute it for a while or until lifted, lift that, and for admins edit its roles and
// search the audit log (newest first, paged with `next`) and verify its hash chain. Shown only
// to users whose `roles` hold `admin` or `moderator`; that is a convenience, not a control: the
// node checks the role on every call, and its refusals are shown as they come.
import * as rookery from "../sdk/rookery.js";
import { el } from "./dom.js";

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

/** Whether `user` holds a staff role (the view is shown to them). */
export const isStaff = (user) => Boolean(user?.roles?.some((r) => r === "admin" || r === "moderator"));
const isAdmin = (user) => Boolean(user?.roles?.includes("admin"));

// ----- words -----------------------------------------------------------------------------------

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A length of time in words: "15 min", "1 h", "2 days". */
export function durationText(ms) {
  if (ms >= DAY && ms % DAY === 0) return ms === DAY ? "1 day" : `${ms / DAY} days`;
  if (ms >= HOUR && ms % HOUR === 0) return `${ms / HOUR} h`;
  if (ms >= MINUTE && ms % MINUTE === 0) return `${ms / MINUTE} min`;
  if (ms >= DAY) return `${Math.round(ms / DAY)} days`;
  if (ms >= HOUR) return `${Math.round(ms / HOUR)} h`;
  if (ms >= MINUTE) return `${Math.round(ms / MINUTE)} min`;
  return `${Math.max(1, Math.round(ms / 1000))} s`;
}

const dateTime = (ms) =>
  new Date(ms).toLocaleString([], { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
const stamp = (ms) =>
  new Date(ms).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });

/** When a sanction ends: "until lifted", or the instant and how far off it is. */
function untilText(until) {
  if (until == null) return "until lifted";
  const left = until - Date.now();
  return `until ${dateTime(until)} (${left > 0 ? `in ${durationText(roundLeft(left))}` : "ending"})`;
}
/** Time left, rounded to what a person reads: minutes under a day, hours beyond. */
const roundLeft = (ms) => (ms < HOUR ? Math.ceil(ms / MINUTE) * MINUTE : ms < DAY ? Math.round(ms / MINUTE) * MINUTE : Math.round(ms / HOUR) * HOUR);

const ERROR_TITLE = {
  unauthenticated: "Not logged in",
  forbidden: "Not allowed",
  not_found: "Not found",
  conflict: "Refused",
  invalid_field: "Invalid request",
  rate_limited: "Too many requests",
  unavailable: "Server busy",
  banned: "Banned",
};

/** A server refusal in words, with its status and code so staff can tell them apart. */
function errorText(error) {
  if (error instanceof TypeError) return `Could not reach the server: ${error.message}`;
  const title = ERROR_TITLE[error?.code] ?? "Error";
  const status = error?.status ? `${error.status} ` : "";
  const head = error?.code ? `${title} (${status}${error.code})` : title;
  let text = `${head}: ${error?.message ?? String(error)}`;
  if (!/[.!?]$/.test(text)) text += ".";
  return error?.code === "unauthenticated" ? `${text} Log in again.` : text;
}

const SANCTION_TITLE = { ban: "Banned", mute: "Muted", playban: "Barred from play" };
const LIFT = { ban: ["Unban", "admin-unban"], mute: ["Unmute", "admin-unmute"] };

/** An audit event's `details` in words. */
function detailsText(details = {}) {
  const parts = [];
  for (const [key, value] of Object.entries(details)) {
    if (key === "durationMs" && typeof value === "number") parts.push(`for ${durationText(value)}`);
    else if (key === "permanent" && value === true) parts.push("until lifted");
    else if (key === "reason") parts.push(`“${value}”`);
    else if (Array.isArray(value)) parts.push(`${key}: ${value.length ? value.join(", ") : "none"}`);
    else parts.push(`${key}: ${value}`);
  }
  return parts.join(" · ");
}

// ----- the view --------------------------------------------------------------------------------

/**
 * Wires the admin section. `client()` gives the player's SDK client (its token, renewed when
 * about to expire), else `token()` the stored token. Returns `render(viewer)`
 * (show the parts `viewer`'s roles allow) and `reset()` (forget the last account and search).
 */
export function createAdminView({ client = () => null, token }) {
  const state = {
    viewer: null,
    /** The account on the card (an `AdminUserView`). */
    account: null,
    /** The audit search shown, and where its next page starts. */
    query: null,
    events: [],
    next: null,
  };
  const as = () => (client() ? { client: client() } : { token: token() ?? undefined });

  function message(id, text) {
    const box = $(id);
    box.textContent = text ?? "";
    box.hidden = !text;
  }
  const clearMessages = () => {
    message("admin-error", null);
    message("admin-status", null);
  };

  /** Runs `call` with `buttons` disabled; a refusal goes to the `errorId` line. */
  async function busy(buttons, errorId, call) {
    for (const b of buttons) b.disabled = true;
    try {
      return await call();
    } catch (error) {
      message(errorId, errorText(error));
      return undefined;
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }

  // ----- accounts ------------------------------------------------------------------------------

  async function lookUp(name) {
    clearMessages();
    $("admin-lookup").elements.username.value = name;
    const account = await busy([$("admin-lookup-go")], "admin-error", () => rookery.getAdminUser(name, as()));
    if (account === undefined) {
      state.account = null;
      renderCard();
      return;
    }
    show(account);
  }

  function show(account) {
    state.account = account;
    renderCard();
  }

  function badge(text, kind) {
    return el("span", { class: `badge ${kind}`, "data-badge": kind }, text);
  }

  function renderCard() {
    const card = $("admin-card");
    const a = state.account;
    card.hidden = !a;
    if (!a) return;
    card.dataset.name = a.name;
    card.dataset.banned = String(a.banned);
    card.dataset.muted = String(a.muted);
    card.dataset.roles = a.roles.join(",");
    $("admin-card-name").textContent = a.name;
    const badges = [
      ...a.roles.map((role) => badge(role, role)),
      a.guest && badge("guest", "guest"),
      a.banned && badge("banned", "banned"),
      a.muted && badge("muted", "muted"),
      a.playbanned && badge("barred from play", "playbanned"),
    ].filter(Boolean);
    $("admin-badges").replaceChildren(...badges);
    $("admin-card-meta").textContent = [
      a.guest ? "guest" : `rating ${a.rating}`,
      `${a.gamesPlayed} ${a.gamesPlayed === 1 ? "game" : "games"}`,
      `joined ${dateTime(a.createdAt)}`,
      `id ${a.id}`,
    ].join(" · ");

    const sanctions = $("admin-sanctions");
    sanctions.replaceChildren(
      ...a.sanctions.map((s) => {
        const li = el("li", { class: `sanction ${s.kind}`, "data-kind": s.kind });
        const text = el("div", { class: "sanction-text" });
        const reason = el("div", { class: "sanction-reason", "data-testid": `admin-reason-${s.kind}` }, s.reason ? `“${s.reason}”` : "no reason given");
        if (!s.reason) reason.classList.add("muted");
        text.append(
          el("strong", {}, SANCTION_TITLE[s.kind] ?? s.kind),
          ` ${untilText(s.until)}`,
          reason,
          el("span", { class: "muted small sanction-by" }, `by ${s.by}, ${dateTime(s.at)}`),
        );
        li.append(text);
        const lift = LIFT[s.kind];
        if (lift) {
          const button = el("button", { type: "button", class: "secondary small-button", "data-testid": lift[1] }, lift[0]);
          button.addEventListener("click", () => sanction(s.kind, false, button));
          li.append(button);
        }
        return li;
      }),
    );
    if (!a.sanctions.length) sanctions.append(el("li", { class: "muted small" }, "Nothing: no ban, mute or play ban."));

    const flags = $("admin-flags");
    flags.replaceChildren(
      ...a.flags.map((f) =>
        el("li", { class: "flag", "data-kind": f.kind }, `${f.kind} · ${dateTime(f.at)}${f.details ? ` — ${f.details}` : ""}`),
      ),
    );
    if (!a.flags.length) flags.append(el("li", { class: "muted small" }, "None."));

    $("admin-ban").textContent = a.banned ? "Ban again" : "Ban";
    $("admin-mute").textContent = a.muted ? "Mute again" : "Mute";
    const roles = $("admin-roles").elements;
    roles.moderator.checked = a.roles.includes("moderator");
    roles.admin.checked = a.roles.includes("admin");
    for (const input of [roles.moderator, roles.admin, $("admin-roles-save")]) input.disabled = a.guest;
    document.querySelector(".roles-hint").hidden = !a.guest;
  }

  /** Sets (`on`) or lifts a ban or a mute on the account of the card. */
  async function sanction(kind, on, button) {
    const a = state.account;
    if (!a) return;
    clearMessages();
    const form = $("admin-sanction").elements;
    const reason = form.reason.value.trim();
    const durationMs = form.duration.value === "" ? null : Number(form.duration.value);
    const call = {
      "ban:true": () => rookery.banUser(a.name, { reason, durationMs }, as()),
      "ban:false": () => rookery.unbanUser(a.name, as()),
      "mute:true": () => rookery.muteUser(a.name, { reason, durationMs }, as()),
      "mute:false": () => rookery.unmuteUser(a.name, as()),
    }[`${kind}:${on}`];
    const buttons = [button, $("admin-ban"), $("admin-mute")];
    const account = await busy(buttons, "admin-error", call);
    if (account === undefined) return;
    show(account);
    const how = durationMs == null ? "until lifted" : `for ${durationText(durationMs)}`;
    const done = {
      "ban:true": `${a.name} is banned ${how}.`,
      "ban:false": `${a.name}'s ban is lifted.`,
      "mute:true": `${a.name} is muted ${how}.`,
      "mute:false": `${a.name}'s mute is lifted.`,
    }[`${kind}:${on}`];
    message("admin-status", done);
    if (on) form.reason.value = "";
  }

  async function saveRoles() {
    const a = state.account;
    if (!a) return;
    clearMessages();
    const form = $("admin-roles").elements;
    const roles = ["moderator", "admin"].filter((role) => form[role].checked);
    const account = await busy([$("admin-roles-save")], "admin-error", () => rookery.setUserRoles(a.name, roles, as()));
    if (account === undefined) return;
    show(account);
    message("admin-status", `${a.name}'s roles: ${account.roles.length ? account.roles.join(", ") : "none (player)"}.`);
  }

  // ----- the audit log -------------------------------------------------------------------------

  const instant = (input) => (input.value ? new Date(input.value).getTime() : null);

  async function search(query, { append = false } = {}) {
    message("audit-error", null);
    const buttons = [$("audit-search"), $("audit-more")];
    const page = await busy(buttons, "audit-error", () => rookery.searchAudit(query, as()));
    if (page === undefined) return;
    state.query = query;
    state.events = append ? [...state.events, ...page.events] : page.events;
    state.next = page.next ?? null;
    renderAudit();
  }

  function searchFromForm() {
    const form = $("audit-form").elements;
    const since = instant(form.since);
    const until = instant(form.until);
    if (since != null && until != null && since > until) {
      message("audit-error", "The time range ends before it starts.");
      return;
    }
    search({
      type: form.type.value,
      actor: form.actor.value.trim(),
      target: form.target.value.trim(),
      since,
      until,
      limit: Number(form.limit.value),
    });
  }

  /** A name in the table that looks its account up. */
  function nameCell(name) {
    const td = el("td");
    if (!name) {
      td.append(el("span", { class: "muted" }, "—"));
      return td;
    }
    const button = el("button", { type: "button", class: "link name-link", title: `Look up ${name}` }, name);
    button.addEventListener("click", () => lookUp(name));
    td.append(button);
    return td;
  }

  function renderAudit() {
    const box = $("audit-results");
    $("audit-more").hidden = state.next == null;
    if (!state.events.length) {
      box.replaceChildren(el("p", { class: "muted small" }, "No event matches."));
      return;
    }
    const table = el("table", { class: "audit-table", "data-testid": "audit-table" });
    const head = el("tr");
    for (const title of ["#", "When", "Event", "Actor", "Target", "Details", "IP"]) head.append(el("th", {}, title));
    table.append(el("thead"));
    table.tHead.append(head);
    const body = el("tbody");
    for (const e of state.events) {
      const row = el("tr", { "data-id": e.id, "data-type": e.type, "data-outcome": e.outcome, class: e.outcome });
      row.append(el("td", { class: "num", title: `hash ${e.hash}` }, String(e.id)));
      row.append(el("td", { class: "when" }, stamp(e.at)));
      const what = el("td", { class: "what" });
      what.append(el("span", { class: "event-type" }, e.type));
      if (e.outcome === "refused") what.append(" ", el("span", { class: "badge refused" }, "refused"));
      row.append(what, nameCell(e.actor), nameCell(e.target));
      row.append(el("td", { class: "details" }, detailsText(e.details)));
      row.append(el("td", { class: "ip muted" }, e.ip ?? "—"));
      body.append(row);
    }
    table.append(body);
    const summary = el(
      "p",
      { class: "muted small audit-summary", "data-testid": "audit-summary" },
      `${state.events.length} ${state.events.length === 1 ? "event" : "events"}, newest first${state.next == null ? "" : " · more are older"}`,
    );
    const scroll = el("div", { class: "table-scroll" });
    scroll.append(table);
    box.replaceChildren(summary, scroll);
  }

  async function verify() {
    const result = $("audit-verify-result");
    message("audit-error", null);
    const v = await busy([$("audit-verify")], "audit-error", () => rookery.verifyAudit(as()));
    if (v === undefined) {
      result.hidden = true;
      return;
    }
    result.dataset.ok = String(v.ok);
    result.dataset.firstBad = v.firstBad == null ? "" : String(v.firstBad);
    result.replaceChildren();
    if (v.ok) {
      result.textContent = `✓ Chain intact · ${v.checked} ${v.checked === 1 ? "event" : "events"} checked`;
    } else {
      result.append(`✗ Chain broken at event #${v.firstBad} · ${v.checked} checked `);
      const show = el("button", { type: "button", class: "link" }, "Show it");
      show.addEventListener("click", () => search({ before: v.firstBad + 1, limit: 10 }));
      result.append(show);
    }
    result.hidden = false;
  }

  // ----- wiring --------------------------------------------------------------------------------

  const typeSelect = $("audit-type");
  for (const type of rookery.AUDIT_TYPES) typeSelect.append(el("option", { value: type }, type.replaceAll("_", " ")));
  $("admin-lookup").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = event.currentTarget.elements.username.value.trim();
    if (name) lookUp(name);
  });
  $("admin-sanction").addEventListener("submit", (event) => {
    event.preventDefault();
    sanction(event.submitter?.dataset.action ?? "ban", true, event.submitter);
  });
  $("admin-roles").addEventListener("submit", (event) => {
    event.preventDefault();
    saveRoles();
  });
  $("audit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    searchFromForm();
  });
  $("audit-more").addEventListener("click", () => {
    if (state.query && state.next != null) search({ ...state.query, before: state.next }, { append: true });
  });
  $("audit-verify").addEventListener("click", verify);

  function reset() {
    state.account = null;
    state.query = null;
    state.events = [];
    state.next = null;
    clearMessages();
    message("audit-error", null);
    $("admin-lookup").reset();
    $("admin-sanction").reset();
    $("audit-form").reset();
    $("audit-verify-result").hidden = true;
    $("audit-more").hidden = true;
    $("audit-results").replaceChildren(el("p", { class: "muted small" }, "Search to list events, newest first."));
    renderCard();
  }

  function render(viewer) {
    if (viewer?.name !== state.viewer?.name) reset();
    state.viewer = viewer;
    const admin = isAdmin(viewer);
    for (const part of document.querySelectorAll("[data-view=admin] [data-admin-only]")) part.hidden = !admin;
    $("admin").dataset.role = admin ? "admin" : "moderator";
    renderCard();
  }

  return { render, reset };
}
