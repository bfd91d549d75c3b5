// One-tap acknowledge from a page mail, on the phone: an alert pages the first-line responder by
// email; the mail (caught by the local SMTP sink, sinks.mjs, that the server's FIRSTLINE_SMTP_URL
// in playwright.config.ts points at) carries an Acknowledge link;
// opening it shows one button and changes nothing; pressing it acknowledges, and a second,
// logged-in context with the incident open sees "Acknowledged by ... via email" live; the link
// then says it was already used; axe passes on the confirmation and result pages.
import { execFileSync } from "node:child_process";
import { BASE_URL, SINK_URL } from "../playwright.config";
import { expect, expectAccessible, loginAsAdmin, test } from "./helpers";

/** Every mail the SMTP sink (sinks.mjs) has kept so far, raw. */
async function mails(): Promise<string[]> {
  const r = await fetch(`${SINK_URL}/mails`);
  return ((await r.json()) as { data: string }[]).map((m) => m.data);
}

/** Decodes quoted-printable (soft line breaks, =XX escapes), as a mail client does. */
function quotedPrintable(s: string): string {
  const joined = s.replace(/=\r?\n/g, "");
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === "=" && /^[0-9A-F]{2}$/i.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i], "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

function curlTrigger(key: string, summary: string, dedup: string) {
  const body = JSON.stringify({
    routing_key: key,
    event_action: "trigger",
    dedup_key: dedup,
    payload: { summary, source: "cdn-edge-3", severity: "critical" },
  });
  const out = execFileSync("curl", [
    "-sS", "-X", "POST", `${BASE_URL}/v2/enqueue`,
    "-H", "Content-Type: application/json", "-d", body, "-w", "\n%{http_code}",
  ]).toString();
  expect(out.trim().split("\n").pop()).toBe("202");
}

test("a responder acknowledges from the link in a page mail, and a watcher sees it live", async ({
  page,
  browser,
}, testInfo) => {
  test.skip(testInfo.project.name !== "phone", "the one-tap page is for the phone");
  const summary = `CDN 5xx above 5% (one-tap ${Date.now()})`;

  // The admin (second context, logged in) finds the CDN's PagerDuty key.
  const watcherCtx = await browser.newContext();
  const watcher = await watcherCtx.newPage();
  await loginAsAdmin(watcher, "/services");
  await watcher.getByRole("link", { name: "Downloads CDN" }).click();
  const key = (await watcher.locator('[data-key="CDN monitoring"] code').nth(1).textContent())!.trim();

  // The alert pages whoever is on call for the first line, by email (their login email).
  curlTrigger(key, summary, `onetap-${Date.now()}`);
  let mail = "";
  await expect
    .poll(async () => {
      mail = (await mails()).map(quotedPrintable).find((m) => m.includes(summary) && m.includes("Acknowledge: ")) ?? "";
      return mail !== "";
    }, { timeout: 20_000, message: "a page mail with an Acknowledge link at the SMTP sink" })
    .toBe(true);
  // The link after the incident's own line (a mail can bundle several incidents; the subject
  // of a single one names it too, hence the last occurrence).
  const ackUrl = mail.slice(mail.lastIndexOf(summary)).match(/Acknowledge: (\S+)/)![1];
  expect(ackUrl.startsWith(`${BASE_URL}/a/`)).toBe(true);

  // The watcher has the incident open, live.
  await watcher.goto("/oncall");
  await watcher.locator(".oncall-list li", { hasText: summary }).getByRole("link").first().click();
  await expect(watcher.getByRole("heading", { level: 1 })).toHaveText(summary);
  await expect(watcher.locator(".live-line")).toContainText("Live", { timeout: 10_000 });
  await expect(watcher.locator(".timeline")).not.toContainText("Acknowledged by");

  // The responder opens the link on the phone (not logged in): one button, nothing changed.
  await page.goto(ackUrl);
  await expect(page.getByRole("heading", { level: 1 })).toContainText(`: ${summary} on Downloads CDN?`);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Acknowledge #");
  await expect(page.getByRole("button")).toHaveCount(1);
  await expect(page.getByRole("button", { name: "Acknowledge" })).toBeVisible();
  await expect(page.locator(".onetap")).toContainText("Triggered since");
  await expectAccessible(page);
  await watcher.reload();
  await expect(watcher.locator(".timeline")).not.toContainText("Acknowledged by");
  await expect(watcher.locator(".live-line")).toContainText("Live", { timeout: 10_000 });

  // One tap.
  await page.getByRole("button", { name: "Acknowledge" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Acknowledged #");
  await expect(page.locator(".onetap")).toContainText("Acknowledged by you at");
  await expect(page.locator(".onetap")).toContainText("Escalation stopped.");
  await expect(page.getByRole("link", { name: "Open the incident" })).toBeVisible();
  await expectAccessible(page);

  // The watcher sees it without a reload.
  const navigations = await watcher.evaluate(() => performance.getEntriesByType("navigation").length);
  await expect(watcher.locator(".timeline")).toContainText(/Acknowledged by .+ via email/, { timeout: 10_000 });
  expect(await watcher.evaluate(() => performance.getEntriesByType("navigation").length)).toBe(navigations);

  // Opening the link again says it was used.
  const again = await page.goto(ackUrl);
  expect(again!.status()).toBe(409);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("This link was already used");
  await expectAccessible(page);
  // Resolved from the watcher's page, so the CDN has no open incident for the tests after.
  await watcher.getByRole("button", { name: "Resolve" }).click();
  await expect(watcher.getByRole("status").filter({ hasText: "Resolved" })).toBeVisible();
  await watcherCtx.close();
});
