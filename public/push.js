// "Enable push on this device" on the profile: registers the service worker, asks for
// permission when the button is pressed, subscribes with Firstline's VAPID key and sends the
// subscription to the server, which sends a code by push; the service worker sends it back
// and the device is verified. No inline script (the CSP allows scripts from this origin only).
"use strict";

(function () {
  const box = document.getElementById("push-enable");
  if (!box) return;
  const button = document.getElementById("push-enable-button");
  const status = document.getElementById("push-status");
  const unsupported = document.getElementById("push-unsupported");
  const say = (text) => {
    status.textContent = text;
  };

  const supported =
    "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  if (!supported) {
    unsupported.hidden = false;
    return;
  }
  button.hidden = false;
  if (Notification.permission === "denied") {
    say("Notifications are blocked for Firstline in this browser's settings; allow them there first.");
  }

  // The VAPID key is base64url; PushManager wants bytes.
  function bytes(b64) {
    const s = atob(b64.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((b64.length + 3) % 4));
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  }

  const registered = navigator.serviceWorker.register("/sw.js", { scope: "/" });

  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      say("Asking for permission…");
      const permission = await Notification.requestPermission();
      if (permission !== "granted") {
        say("Firstline may not show notifications here. Allow them in the browser's settings, then press Enable again.");
        return;
      }
      const reg = await registered;
      await navigator.serviceWorker.ready;
      const keyResp = await fetch("/push/vapid-key", { credentials: "same-origin" });
      const { key } = await keyResp.json();
      let sub = await reg.pushManager.getSubscription();
      if (sub) {
        const current = sub.options && sub.options.applicationServerKey;
        const same =
          current && btoa(String.fromCharCode(...new Uint8Array(current))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "") === key;
        if (!same) {
          await sub.unsubscribe();
          sub = null;
        }
      }
      if (!sub) {
        sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes(key) });
      }
      say("Sending a code to this device…");
      const resp = await fetch("/profile/push", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": box.dataset.csrf },
        body: JSON.stringify(sub.toJSON()),
      });
      const answer = await resp.json().catch(() => ({}));
      if (!resp.ok) {
        say(answer.error || `Firstline answered ${resp.status}.`);
        return;
      }
      say(
        answer.sent
          ? `Sent a code to ${answer.label}. A notification "Push is on for this device" follows in a moment; reload this page to see it verified.`
          : `Saved ${answer.label}, but the push service did not take the code: ${answer.message}`,
      );
    } catch (e) {
      say(`Could not turn on push here: ${e.message || e}`);
    } finally {
      button.disabled = false;
    }
  });
})();
