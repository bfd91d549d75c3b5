// Firstline's service worker: shows pages that arrive by Web Push, sends a verification code
// back by itself, and acts on a notification's Acknowledge and Resolve buttons through the
// page's one-tap links (signed, one use; the link is the credential, no login needed).
//
// Payload (JSON, made by the server's push channel): type (page | verify | test | notice),
// title, body, url (where a plain tap goes), tag, incidents, contact, urgency; a single
// incident's page has actions [{action: "ack"|"resolve", title, url}] and number; a
// verification has code.
"use strict";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

const ICON = "/icons/any-192.png";

function show(title, options) {
  return self.registration.showNotification(title || "Firstline", {
    icon: ICON,
    badge: ICON,
    ...options,
  });
}

// Sends a verification code back; the session cookie goes along (same origin), the code proves
// that this device got the push.
async function verify(p) {
  let ok = false;
  try {
    const resp = await fetch("/push/verify", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ contact: p.contact, code: p.code }),
    });
    ok = resp.ok;
  } catch (e) {
    ok = false;
  }
  return show(ok ? "Push is on for this device" : "Firstline could not turn on push", {
    body: ok
      ? "Pages will reach you here."
      : "Open your Firstline profile on this device and press Enable again.",
    tag: p.tag || "verify",
    data: { url: "/profile" },
  });
}

self.addEventListener("push", (event) => {
  let p;
  try {
    p = event.data ? event.data.json() : null;
  } catch (e) {
    p = null;
  }
  if (!p) {
    p = { type: "notice", title: "Firstline", body: event.data ? event.data.text() : "", url: "/oncall" };
  }
  if (p.type === "verify") {
    event.waitUntil(verify(p));
    return;
  }
  const actions = Array.isArray(p.actions)
    ? p.actions.map((a) => ({ action: a.action, title: a.title }))
    : [];
  const options = {
    body: p.body || "",
    tag: p.tag,
    renotify: p.type === "page",
    requireInteraction: p.type === "page" && p.urgency === "high",
    data: p,
  };
  // Browsers without notification actions (iOS home-screen apps) open `url` on a tap.
  const canAct = typeof Notification !== "undefined" && "actions" in Notification.prototype;
  if (actions.length && canAct) {
    options.actions = actions.slice(0, Notification.maxActions || 2);
  }
  event.waitUntil(show(p.title, options));
});

// What a result of a one-tap link POST means, for the confirmation notification.
function outcome(status, verb, what) {
  switch (status) {
    case 200:
      return `${verb} ${what}`;
    case 409:
      return `${what}: already done (this link was used, or someone else acted first)`;
    case 410:
      return `${what}: this link has expired; open the incident instead`;
    case 400:
      return `${what}: this link is not valid`;
    default:
      return `${what}: Firstline answered ${status}; open the incident`;
  }
}

// Acts on a notification: `action` is "ack", "resolve", or "" for a plain tap. A named
// top-level function, so tests can call it through the worker (a synthetic NotificationEvent
// cannot wait for the fetch). Returns what the confirmation says.
self.firstlineAction = async function (notification, action) {
  const p = (notification && notification.data) || {};
  const link = (p.actions || []).find((a) => a.action === action);
  if (!link) {
    // A plain tap: the one-tap page for a single incident, the list for a bundle.
    const url = new URL(p.url || "/oncall", self.location.origin).href;
    const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const c of open) {
      if (c.url === url && "focus" in c) return c.focus();
    }
    return self.clients.openWindow ? self.clients.openWindow(url) : null;
  }
  const verb = action === "ack" ? "Acknowledged" : "Resolved";
  const what = p.number ? `#${p.number}` : "the incident";
  let status = 0;
  try {
    const resp = await fetch(link.url, {
      method: "POST",
      credentials: "omit",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "",
    });
    status = resp.status;
  } catch (e) {
    status = 0;
  }
  const text = status === 0 ? `${what}: Firstline could not be reached` : outcome(status, verb, what);
  await show(text, {
    body: p.title || "",
    tag: p.tag,
    data: { url: p.incident_url || p.url || "/oncall" },
  });
  return text;
};

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const p = event.notification.data || {};
  // The confirmation after an action opens the incident on a tap.
  if (!p.type) {
    const url = new URL(p.url || "/oncall", self.location.origin).href;
    event.waitUntil(self.clients.openWindow(url));
    return;
  }
  event.waitUntil(self.firstlineAction(event.notification, event.action || ""));
});
