// Paging, alerts in: an alert sent with curl opens an on-call incident that appears on an
// already-open incidents list and reaches an open timeline without a reload; a responder on the
// project's device (desktop or phone) acknowledges and adds a note, which a second person's open
// page shows live; the incident posts to the public status page; and the pages pass axe-core.
import { execFileSync } from "node:child_process";
import { Page } from "@playwright/test";
import { BASE_URL, ADMIN_PASSWORD } from "../playwright.config";
import { expect, expectAccessible, loginAsAdmin, test } from "./helpers";

const JONAS = "jonas@firstline-contractors.example";

async function login(page: Page, email: string, next: string) {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(new RegExp(`${next.replace(/[/?]/g, "\\$&")}$`));
}

/** Sends a PagerDuty Events v2 trigger with curl, as a monitoring tool would; returns the answer. */
function curlTrigger(key: string, summary: string, dedup: string): Record<string, string> {
  const body = JSON.stringify({
    routing_key: key,
    event_action: "trigger",
    dedup_key: dedup,
    payload: { summary, source: "cdn-edge-3", severity: "critical", custom_details: { error_rate: "7.1%" } },
    links: [{ href: "https://runbooks.example/cdn", text: "CDN runbook" }],
  });
  const out = execFileSync("curl", [
    "-sS", "-X", "POST", `${BASE_URL}/v2/enqueue`,
    "-H", "Content-Type: application/json", "-d", body,
    "-w", "\n%{http_code}",
  ]).toString();
  const [json, code] = out.trim().split("\n");
  expect(code).toBe("202");
  return JSON.parse(json);
}

test("an alert sent with curl opens an incident that responders work live, from a phone too", async ({
  page,
  browser,
}, testInfo) => {
  const summary = `CDN 5xx above 5% (${testInfo.project.name})`;
  const dedup = `cdn-5xx-${testInfo.project.name}-${Date.now()}`;

  // The admin finds the CDN's PagerDuty key on its service page, with the URL and a snippet.
  const adminCtx = await browser.newContext();
  const admin = await adminCtx.newPage();
  await loginAsAdmin(admin, "/services");
  await expectAccessible(admin);
  await admin.getByRole("link", { name: "Downloads CDN" }).click();
  const keyRow = admin.locator('[data-key="CDN monitoring"]');
  await expect(keyRow).toContainText(`${BASE_URL}/v2/enqueue`);
  const key = (await keyRow.locator("code").nth(1).textContent())!.trim();
  expect(key).toMatch(/^[0-9a-f]{32}$/);
  await expectAccessible(admin);

  // The responder (this project's device) has the incidents list open, live.
  await login(page, JONAS, "/oncall");
  await expect(page.locator(".live-line")).toContainText("Live", { timeout: 10_000 });
  await expectAccessible(page);

  // The alert arrives: the row appears without a reload.
  const answer = curlTrigger(key, summary, dedup);
  expect(answer).toMatchObject({ status: "success", message: "Event processed", dedup_key: dedup });
  const row = page.locator(".oncall-list li", { hasText: summary });
  await expect(row).toBeVisible({ timeout: 5_000 });
  await expect(row).toContainText("triggered");
  expect(await page.evaluate(() => performance.getEntriesByType("navigation").length)).toBe(1);

  // A second person (the admin) opens the same incident's timeline.
  await row.getByRole("link").click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(summary);
  // The navigation counts open incidents for responders.
  await expect(page.locator(".topbar .count:visible")).toBeVisible();
  const url = page.url();
  await admin.goto(url);
  await expect(admin.locator(".live-line")).toContainText("Live", { timeout: 10_000 });
  await expect(admin.locator(".timeline")).toContainText("Alert received via PagerDuty event");
  await expect(admin.getByRole("link", { name: "CDN runbook" })).toBeVisible();

  // A repeat from the source reaches both open timelines, without paging again.
  curlTrigger(key, summary, dedup);
  await expect(page.locator(".timeline")).toContainText("Alert repeated", { timeout: 5_000 });
  await expect(admin.locator(".timeline")).toContainText("Alert repeated", { timeout: 5_000 });

  // The phone (or desktop) leads with big buttons: acknowledge in one tap.
  const ack = page.getByRole("button", { name: "Acknowledge" });
  const box = await ack.boundingBox();
  expect(box!.height).toBeGreaterThanOrEqual(44);
  expect(box!.width).toBeGreaterThanOrEqual(44);
  await ack.click();
  await expect(page.getByRole("status")).toContainText("Acknowledged");
  await expect(admin.locator(".oncall-head")).toContainText("Acknowledged by Jonas Weber", { timeout: 5_000 });
  await expect(admin.getByRole("button", { name: "Acknowledge" })).toHaveCount(0);

  // A note is one field; the other page shows it live, escaped.
  await page.getByLabel("Note", { exact: true }).fill("Rolled back the edge config <b>now</b>");
  await page.getByRole("button", { name: "Add note" }).click();
  await expect(page.getByRole("status")).toContainText("Note added");
  await expect(admin.locator(".timeline")).toContainText("Rolled back the edge config <b>now</b>", { timeout: 5_000 });
  expect(await admin.evaluate(() => performance.getEntriesByType("navigation").length)).toBe(1);
  await expectAccessible(page);

  // Post to the public status page from the incident.
  await page.locator("summary", { hasText: "Post to the status page" }).click();
  await page.getByLabel("Title", { exact: true }).fill(`Slow downloads (${testInfo.project.name})`);
  await page.getByLabel("Message", { exact: true }).fill("Some crate downloads fail; we are on it.");
  await page.getByLabel("Downloads (static CDN)").selectOption("partial_outage");
  await page.getByRole("button", { name: "Post to status page" }).click();
  await expect(page.getByRole("status")).toContainText("Posted to the public status page");
  await expect(page.locator(".oncall-head")).toContainText(`Slow downloads (${testInfo.project.name})`);
  const visitor = await browser.newContext();
  const pub = await visitor.newPage();
  await pub.goto("/status");
  await expect(pub.locator("article.incident", { hasText: `Slow downloads (${testInfo.project.name})` })).toBeVisible();

  // Resolve: it leaves the open list.
  await page.getByRole("button", { name: "Resolve" }).click();
  await expect(page.getByRole("status")).toContainText("Resolved");
  await page.goto("/oncall");
  await expect(page.locator(".oncall-list li", { hasText: summary })).toHaveCount(0);

  // Tidy the public page for the other tests: resolve the status-page incident too.
  await page.goto(url);
  // An incident with an open status-page post shows the update form already open.
  await page.getByLabel("Status", { exact: true }).selectOption("resolved");
  await page.getByLabel("Message", { exact: true }).fill("Downloads are fast again.");
  await page.getByRole("button", { name: "Post update" }).click();
  await expect(page.getByRole("status")).toContainText("Posted");
  await visitor.close();
  await adminCtx.close();
});
