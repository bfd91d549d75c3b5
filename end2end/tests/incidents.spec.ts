// Incidents on the public status page: published and updated by a responder, they reach an
// already-open page live, and a page with JavaScript off shows the same. Plus the status-page
// admin pages and public history pass axe-core, and the page is light with no layout shift.
import { expect, expectAccessible, loginAsAdmin, test } from "./helpers";

test("an incident created and updated by an admin reaches an open page live, and JS-off readers see it", async ({
  page,
  browser,
}, testInfo) => {
  const title = `Sparse index errors (${testInfo.project.name})`;
  // A visitor has the status page open, live.
  const visitor = await browser.newContext();
  const open = await visitor.newPage();
  await open.goto("/status");
  await expect(open.locator(".live-line")).toContainText("Live", { timeout: 10_000 });
  await expect(open.locator(".banner")).toHaveText("All Systems Operational");

  // The admin reports the incident from the status admin.
  await loginAsAdmin(page, "/admin/incidents");
  const form = page.locator("#new-incident form");
  await form.getByLabel("Title").fill(title);
  await form.getByLabel("Impact").selectOption("major");
  await form.getByLabel("Message (Markdown)").fill("We are **investigating** failed index fetches.");
  await form.getByLabel(/^Sparse index/).selectOption("partial_outage");
  await form.getByRole("button", { name: "Publish incident" }).click();
  await expect(page).toHaveURL(/\/admin\/incidents\/[a-z0-9]+\?done=published$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(`Update: ${title}`);

  // The open page shows it without a reload.
  const card = open.locator("article.incident", { hasText: title });
  await expect(card).toBeVisible({ timeout: 3_000 });
  await expect(card.locator(".md strong", { hasText: "investigating" })).toBeVisible();
  await expect(open.locator(".banner")).toHaveText("Partial System Outage");
  await expect(open.locator(".component", { hasText: "Sparse index" }).locator(".pill")).toHaveText(
    "Partial outage",
  );

  // An update: identified.
  await page.getByLabel("Status").selectOption("identified");
  await page.getByLabel(/^Message/).fill("A CDN purge failed; purging again.");
  await page.getByRole("button", { name: "Post update" }).click();
  await expect(card.locator(".update-head").first()).toContainText("Identified", { timeout: 3_000 });
  await expect(card).toContainText("A CDN purge failed; purging again.");
  expect(await open.evaluate(() => performance.getEntriesByType("navigation").length)).toBe(1);

  // A slip in the first message is corrected in place: the open page shows the fix, marked edited.
  const fix = page.locator("details", { hasText: "Message: Investigating" });
  await fix.locator("summary").click();
  await fix.getByLabel("Corrected text").fill("We are **investigating** failed index downloads.");
  await fix.getByRole("button", { name: "Save correction" }).click();
  await expect(card).toContainText("failed index downloads", { timeout: 3_000 });
  await expect(card).not.toContainText("fetches");
  await expect(card.locator(".update-head").last()).toContainText("edited");
  await expect(card.locator(".update-head").first()).not.toContainText("edited");

  // Someone without JavaScript sees the same incident and update.
  const noJs = await browser.newContext({ javaScriptEnabled: false });
  const plain = await noJs.newPage();
  await plain.goto("/status");
  const plainCard = plain.locator("article.incident", { hasText: title });
  await expect(plainCard).toBeVisible();
  await expect(plainCard).toContainText("A CDN purge failed; purging again.");
  await expect(plainCard.locator(".update-head").first()).toContainText("Identified");
  await expect(plain.locator(".banner")).toHaveText("Partial System Outage");
  // The permalink works without JavaScript too.
  await plainCard.getByRole("link", { name: title }).click();
  await expect(plain.locator("article.incident")).toContainText("We are investigating failed index downloads.");
  await noJs.close();

  // Resolved: it leaves the open page and the component is back.
  await page.getByLabel("Status").selectOption("resolved");
  await page.getByLabel(/^Message/).fill("Fresh index files are served again.");
  await page.getByRole("button", { name: "Post update" }).click();
  await expect(card).toHaveCount(0, { timeout: 3_000 });
  await expect(open.locator(".banner")).toHaveText("All Systems Operational");
  await expect(open.locator(".component", { hasText: "Sparse index" }).locator(".pill")).toHaveText(
    "Operational",
  );
  await visitor.close();

  // Once resolved, an admin can delete it (this one was only a test): it leaves the history.
  await page.goto("/history");
  await expect(page.getByRole("link", { name: title })).toBeVisible();
  await page.getByRole("link", { name: title }).click();
  const admin = page.url().replace(/\/incidents\//, "/admin/incidents/");
  await page.goto(admin);
  await page.getByLabel("Yes, delete it for good").check();
  await page.getByRole("button", { name: "Delete", exact: true }).click();
  await expect(page).toHaveURL(/\/admin\/incidents$/);
  await page.goto("/history");
  await expect(page.getByRole("link", { name: title })).toHaveCount(0);
});

test("a group folded by the reader stays folded when the page updates live", async ({ page, browser }) => {
  const visitor = await browser.newContext();
  const open = await visitor.newPage();
  await open.goto("/status");
  await expect(open.locator(".live-line")).toContainText("Live", { timeout: 10_000 });
  await open.locator("details[data-group='Crates'] > summary").click();
  await expect(open.locator("details[data-group='Crates']")).not.toHaveAttribute("open", "");

  await loginAsAdmin(page, "/admin/components");
  const row = page.locator(".admin-row", { hasText: "Git index" });
  await row.getByLabel("Status of Git index").selectOption("degraded_performance");
  await row.getByRole("button", { name: "Update" }).click();
  await expect(open.locator(".component", { hasText: "Git index" }).locator(".pill")).toHaveText(
    "Degraded performance",
  );
  await expect(open.locator("details[data-group='Crates']")).not.toHaveAttribute("open", "");
  await expect(open.locator("details[data-group='Index']")).toHaveAttribute("open", "");

  await page.locator(".admin-row", { hasText: "Git index" }).getByLabel("Status of Git index").selectOption("operational");
  await page.locator(".admin-row", { hasText: "Git index" }).getByRole("button", { name: "Update" }).click();
  await expect(open.locator(".banner")).toHaveText("All Systems Operational");
  await visitor.close();
});

test("status page: under 30 KB, no third-party requests, no layout shift", async ({ page }, testInfo) => {
  const sizes = new Map<string, number>();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  cdp.on("Network.loadingFinished", (e) => sizes.set(e.requestId, e.encodedDataLength));
  // The SSE stream never finishes loading: count what it received so far.
  const streamed = new Map<string, number>();
  cdp.on("Network.dataReceived", (e) =>
    streamed.set(e.requestId, (streamed.get(e.requestId) ?? 0) + e.encodedDataLength),
  );
  const urls: string[] = [];
  page.on("request", (r) => urls.push(r.url()));
  await page.addInitScript(() => {
    (window as any).__cls = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries() as any[]) {
        if (!e.hadRecentInput) (window as any).__cls += e.value;
      }
    }).observe({ type: "layout-shift", buffered: true });
  });
  await page.goto("/status");
  await expect(page.locator(".live-line")).toContainText("Live", { timeout: 10_000 });
  await page.waitForLoadState("networkidle");
  const cls = await page.evaluate(() => (window as any).__cls);
  expect(cls).toBeLessThan(0.001);
  expect(urls.filter((u) => !u.startsWith("http://127.0.0.1"))).toEqual([]);
  // The live module connects with the version the page shows, so nothing is fetched again.
  expect(urls.filter((u) => u.includes("/status/live"))).toEqual([]);
  for (const [id, n] of streamed) if (!sizes.has(id)) sizes.set(id, n);
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  testInfo.annotations.push({ type: "page weight", description: `${total} bytes` });
  console.log(`status page weight (${testInfo.project.name}): ${total} bytes over ${urls.length} requests`);
  // The budget for the page read during an outage: under 30 KB, all requests, compressed,
  // headers included (the live module is most of it: keep it framework- and format!-free).
  // The page's own HTML grows with what earlier tests leave public (about 2 KB here).
  expect(total).toBeGreaterThan(0);
  expect(total).toBeLessThan(30 * 1024);
});

test("status-page admin and public history pages pass axe-core", async ({ page }) => {
  for (const path of ["/history", "/history.rss"]) {
    const r = await page.goto(path);
    expect(r?.status()).toBe(200);
  }
  await page.goto("/history");
  await expectAccessible(page);
  const all = await (await page.request.get("/api/v2/incidents.json")).json();
  const past = all.incidents.find((i: any) => i.name === "Sparse index serving stale crate versions");
  await page.goto(`/incidents/${past.id}`);
  await expect(page.locator("article.incident")).toContainText("Postmortem");
  await expectAccessible(page);
  await loginAsAdmin(page, "/admin/incidents");
  await expectAccessible(page);
  // A failed form keeps its values and names the field.
  await page.locator("#new-incident").getByLabel("Title").fill("x".repeat(10));
  await page.locator("#new-incident").getByLabel("Message (Markdown)").fill("   ");
  await page.locator("#new-incident").getByLabel("Message (Markdown)").evaluate((e) => e.removeAttribute("required"));
  await page.getByRole("button", { name: "Publish incident" }).click();
  await expect(page.getByRole("alert")).toContainText("The message must not be empty.");
  await expectAccessible(page);
  await page.goto("/admin/incidents");
  await page.getByRole("link", { name: "Database upgrade" }).first().click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Update: Database upgrade");
  await expectAccessible(page);
  for (const path of ["/admin/monitors", "/admin/subscribers"]) {
    await page.goto(path);
    await expectAccessible(page);
  }
  await page.goto("/history");
  await page.getByRole("link", { name: "← Earlier" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("incident history");
  await expectAccessible(page);
});
