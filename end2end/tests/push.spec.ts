// Web Push on a phone: the web app installs (manifest, icons, a root service worker), the
// profile's push section passes axe, a device subscribes and the service worker verifies it by
// itself, a page pushed to the device shows a notification with Acknowledge and Resolve, and
// its Acknowledge action acknowledges the incident, which a second person's open timeline shows
// live ("... via push").
//
// No browser push service is involved (headless Chromium has none): the test plays the device's
// side. It makes the subscription's keys with node's crypto, starts a fake push service on
// 127.0.0.1 that Firstline sends to (the server runs with FIRSTLINE_OUTBOUND_ALLOW=127.0.0.1/32,
// see playwright.config.ts), decrypts what arrives (RFC 8291, written here again with node's
// ECDH, HKDF and AES-128-GCM) and hands the plaintext to the page's service worker through the
// DevTools protocol (ServiceWorker.deliverPushMessage), as a push service would.
import { createDecipheriv, createECDH, hkdfSync, randomBytes } from "node:crypto";
import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { CDPSession, Page } from "@playwright/test";
import { BASE_URL } from "../playwright.config";
import { expect, expectAccessible, loginAsAdmin, test } from "./helpers";

/** A fake push service: keeps each request's body, answers 201. */
async function fakePushService(): Promise<{ server: Server; url: string; bodies: Buffer[] }> {
  const bodies: Buffer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      bodies.push(Buffer.concat(chunks));
      res.writeHead(201).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const port = (server.address() as AddressInfo).port;
  return { server, url: `http://127.0.0.1:${port}`, bodies };
}

/** The browser's side of a subscription: a P-256 key pair and an auth secret. */
function device() {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  const p256dh = ecdh.getPublicKey(); // 65 bytes, uncompressed
  const auth = randomBytes(16);
  const decrypt = (body: Buffer): any => {
    const salt = body.subarray(0, 16);
    const idlen = body[20];
    const asPublic = body.subarray(21, 21 + idlen);
    const ct = body.subarray(21 + idlen);
    const shared = ecdh.computeSecret(asPublic);
    const info = Buffer.concat([Buffer.from("WebPush: info\0"), p256dh, asPublic]);
    const ikm = Buffer.from(hkdfSync("sha256", shared, auth, info, 32));
    const cek = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16));
    const nonce = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: nonce\0"), 12));
    const d = createDecipheriv("aes-128-gcm", cek, nonce);
    d.setAuthTag(ct.subarray(ct.length - 16));
    const plain = Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]);
    let end = plain.length - 1;
    while (plain[end] === 0) end--;
    expect(plain[end], "last-record delimiter").toBe(2);
    return JSON.parse(plain.subarray(0, end).toString("utf8"));
  };
  return { p256dh: p256dh.toString("base64url"), auth: auth.toString("base64url"), decrypt };
}

/** Waits for the `n`th request at the fake push service (1-based). */
async function nth(bodies: Buffer[], n: number): Promise<Buffer> {
  await expect.poll(() => bodies.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(n);
  return bodies[n - 1];
}

/** Hands `payload` to the page's service worker as a push message. */
async function deliver(cdp: CDPSession, registrationId: string, payload: unknown) {
  await cdp.send("ServiceWorker.deliverPushMessage", {
    origin: BASE_URL,
    registrationId,
    data: JSON.stringify(payload),
  });
}

/** The titles of the notifications the service worker shows. */
async function notifications(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    return (await reg.getNotifications()).map((n) => `${n.title} | ${n.body}`);
  });
}

test("a page pushed to a phone is acknowledged from its notification", async ({ page, browser, context }, testInfo) => {
  test.skip(testInfo.project.name !== "phone", "push is the phone's; one run is enough");
  const summary = `Web UI 5xx (push ${Date.now()})`;
  const push = await fakePushService();
  const phone = device();
  try {
    // The web app: a manifest that parses, with its icons, linked from every page.
    const manifest = await (await page.request.get("/manifest.webmanifest")).json();
    expect(manifest).toMatchObject({ name: "Firstline", start_url: "/oncall", display: "standalone" });
    expect(manifest.icons.map((i: any) => `${i.sizes} ${i.purpose}`)).toEqual(
      expect.arrayContaining(["192x192 any", "512x512 any", "512x512 maskable"]),
    );
    for (const icon of manifest.icons) {
      const r = await page.request.get(icon.src);
      expect(r.status()).toBe(200);
      expect(r.headers()["content-type"]).toBe("image/png");
    }

    // The profile's push section; its script registers the service worker at the root.
    await context.grantPermissions(["notifications"], { origin: BASE_URL });
    await loginAsAdmin(page, "/profile");
    await expect(page.locator('link[rel="manifest"]')).toHaveAttribute("href", "/manifest.webmanifest");
    await expect(page.getByRole("button", { name: "Enable push on this device" })).toBeVisible();
    await expect(page.locator("#push-enable")).toContainText("Add to Home Screen");
    await expectAccessible(page);
    const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
    expect(scope).toBe(`${BASE_URL}/`);

    // The DevTools protocol's handle on that registration.
    const cdp = await context.newCDPSession(page);
    const registrations: { registrationId: string; scopeURL: string }[] = [];
    cdp.on("ServiceWorker.workerRegistrationUpdated", (e: any) => registrations.push(...e.registrations));
    await cdp.send("ServiceWorker.enable");
    await expect.poll(() => registrations.find((r) => r.scopeURL === `${BASE_URL}/`)?.registrationId).toBeTruthy();
    const registrationId = registrations.find((r) => r.scopeURL === `${BASE_URL}/`)!.registrationId;

    // Subscribe: the subscription the browser would make, posted as push.js posts it.
    const answer = await page.evaluate(
      async ({ endpoint, p256dh, auth }) => {
        const csrf = document.getElementById("push-enable")!.dataset.csrf!;
        const r = await fetch("/profile/push", {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
          body: JSON.stringify({ endpoint, expirationTime: null, keys: { p256dh, auth } }),
        });
        return { status: r.status, body: await r.json() };
      },
      { endpoint: `${push.url}/push/e2e-phone`, p256dh: phone.p256dh, auth: phone.auth },
    );
    expect(answer.status).toBe(201);
    expect(answer.body.sent).toBe(true);
    expect(answer.body.label).toContain("Chrome on Android");

    // The code arrives by push; the service worker sends it back by itself.
    const verify = phone.decrypt(await nth(push.bodies, 1));
    expect(verify).toMatchObject({ type: "verify", contact: answer.body.id });
    expect(verify.code).toMatch(/^\d{6}$/);
    await deliver(cdp, registrationId, verify);
    await expect.poll(() => notifications(page)).toContainEqual(expect.stringContaining("Push is on for this device"));

    // Page the admin: a policy that pages her, on the Web UI service.
    await page.goto("/policies/new");
    const policyName = `Aisha first (push ${Date.now()})`;
    await page.getByLabel("Name", { exact: true }).fill(policyName);
    const people = page.locator('fieldset[data-step="1"] details', { hasText: "People" });
    if ((await people.getAttribute("open")) === null) await people.locator("summary").click();
    await people.getByLabel("Aisha Rahman").check();
    await page.locator('input[name="s1_delay"]').fill("5");
    await page.getByRole("button", { name: "Save policy" }).click();
    await expect(page.getByRole("status")).toContainText("Policy created");
    await page.goto("/services");
    await page.getByRole("link", { name: "Web UI and API" }).click();
    const serviceUrl = page.url();
    const select = page.getByLabel("Escalation policy");
    const original = await select.inputValue();
    await select.selectOption({ label: policyName });
    await page.getByRole("button", { name: "Save paging settings" }).click();
    await page.goto(serviceUrl);
    const keyText = (await page.locator('[data-key="Grafana"]').textContent()) ?? "";
    const key = keyText.match(/[0-9a-f]{32}/)![0];

    // An alert (Grafana's webhook shape) pages her by push.
    const sent = await page.request.post(`/hooks/grafana/${key}`, {
      data: {
        status: "firing",
        alerts: [{ status: "firing", labels: { alertname: summary, severity: "critical" }, annotations: { summary }, fingerprint: `push-${Date.now()}` }],
      },
    });
    expect(sent.status()).toBeLessThan(300);
    const pushed = phone.decrypt(await nth(push.bodies, 2));
    expect(pushed.type).toBe("page");
    expect(pushed.actions.map((a: any) => a.action)).toEqual(["ack", "resolve"]);
    await deliver(cdp, registrationId, pushed);
    await expect.poll(() => notifications(page)).toContainEqual(expect.stringContaining(pushed.title));

    // A second person has the incident's timeline open, live.
    const otherCtx = await browser.newContext();
    const other = await otherCtx.newPage();
    await loginAsAdmin(other, "/oncall");
    await other.goto(pushed.incident_url);
    await expect(other.locator(".live-line")).toContainText("Live", { timeout: 10_000 });

    // The notification's Acknowledge, as a tap on it runs it in the service worker.
    const worker = context.serviceWorkers().find((w) => w.url().endsWith("/sw.js"))!;
    const said = await worker.evaluate(async () => {
      const all = await (self as any).registration.getNotifications();
      const n = all.find((x: any) => x.data && x.data.type === "page");
      return (self as any).firstlineAction(n, "ack");
    });
    expect(said).toMatch(/^Acknowledged #\d+/);
    await expect(other.locator(".timeline")).toContainText(/Acknowledged by Aisha Rahman via push/, { timeout: 5_000 });
    await expect.poll(() => notifications(page)).toContainEqual(expect.stringMatching(/^Acknowledged #\d+/));
    // Used once: the same link again says so instead of acting.
    const again = await worker.evaluate((p) => (self as any).firstlineAction({ data: p }, "ack"), pushed);
    expect(again).toContain("already done");

    // Tidy for the other tests: resolve it, and give the service its policy back.
    await other.getByRole("button", { name: "Resolve" }).click();
    await expect(other.getByRole("status")).toContainText("Resolved");
    await page.goto(serviceUrl);
    await page.getByLabel("Escalation policy").selectOption(original);
    await page.getByRole("button", { name: "Save paging settings" }).click();
    await otherCtx.close();
  } finally {
    push.server.close();
  }
});
