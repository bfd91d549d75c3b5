// The public status page: readable without JavaScript, live with it, accessible.
import { clickNav, expect, expectAccessible, loginAsAdmin, test } from "./helpers";

const DEMO_COMPONENTS = [
  "Web UI",
  "API",
  "Sparse index",
  "Git index",
  "Publishing",
  "Downloads (static CDN)",
];

test("anonymous status page renders with JavaScript disabled", async ({ browser }, testInfo) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const requests: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  await page.goto("/");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("crates.io status");
  await expect(page.getByRole("status").first()).toContainText("All Systems Operational");
  for (const name of DEMO_COMPONENTS) {
    const row = page.locator(`.component:has(.component-name:text-is("${name}"))`);
    await expect(row.locator(".pill")).toHaveText("Operational");
    // Each component has a 90-day uptime bar with its percentage.
    await expect(row.locator(".bar > *")).toHaveCount(90);
    await expect(row.locator(".bar-legend")).toContainText(/\d+\.\d\d% uptime/);
  }
  for (const group of ["Website", "Index", "Crates"]) {
    await expect(page.getByRole("heading", { level: 2, name: group })).toBeVisible();
  }
  // A day with an incident on the bar opens that incident (a link works by tap and without JS);
  // phones, whose day cells are far below a fingertip, list the incidents under the bar.
  const sparse = page.locator('.component:has(.component-name:text-is("Sparse index"))');
  const sparseDay = sparse.locator(".bar a").first();
  await expect(sparseDay).toHaveAttribute("title", /Sparse index serving stale crate versions/);
  if (testInfo.project.name === "phone") {
    await sparse.locator(".bar-incidents a", { hasText: "Sparse index serving stale crate versions" }).click();
  } else {
    await sparseDay.click();
  }
  await expect(page.locator("article.incident h1")).toHaveText("Sparse index serving stale crate versions");
  await page.goBack();
  // The maintenance announced for next week is on the page.
  await expect(page.locator("article.incident", { hasText: "Database upgrade" })).toContainText("Window:");
  // Groups keep the order they were created in.
  await expect(page.locator(".group h2")).toHaveText(["Website", "Index", "Crates"]);
  expect(requests.every((u) => u.startsWith("http://127.0.0.1"))).toBe(true);
  await context.close();
});

test("an admin's status change reaches an open status page live, in under a second", async ({
  page,
  browser,
}) => {
  // A visitor already has the status page open, with the live island connected.
  const visitor = await browser.newContext();
  const open = await visitor.newPage();
  await open.goto("/status");
  await expect(open.locator(".live-line")).toContainText("Live", { timeout: 10_000 });
  const sparse = open.locator(".component", { hasText: "Sparse index" });
  await expect(sparse.locator(".pill")).toHaveText("Operational");

  // The admin logs in (on this project's device) and changes Sparse index.
  await loginAsAdmin(page, "/admin/components");
  const row = page.locator(".admin-row", { hasText: "Sparse index" });
  await row.getByLabel("Status of Sparse index").selectOption("partial_outage");
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().includes("/status") && r.request().method() === "POST"),
    row.getByRole("button", { name: "Update" }).click(),
  ]);
  const committedAt = Date.now();
  expect(response.status()).toBe(303);
  await expect(page.getByRole("status").filter({ hasText: "Sparse index is now" })).toHaveText(
    "Sparse index is now: Partial outage.",
  );

  // The open page updates in place, without a reload.
  await expect(sparse.locator(".pill")).toHaveText("Partial outage", { timeout: 1_000 });
  const elapsed = Date.now() - committedAt;
  expect(elapsed).toBeLessThan(1_000);
  await expect(open.locator(".banner")).toHaveText("Partial System Outage");
  expect(await open.evaluate(() => performance.getEntriesByType("navigation").length)).toBe(1);

  // Put it back for the next project, and see that arrive too.
  await page.locator(".admin-row", { hasText: "Sparse index" }).getByLabel("Status of Sparse index").selectOption("operational");
  await page.locator(".admin-row", { hasText: "Sparse index" }).getByRole("button", { name: "Update" }).click();
  await expect(sparse.locator(".pill")).toHaveText("Operational");
  await expect(open.locator(".banner")).toHaveText("All Systems Operational");
  await visitor.close();
});

test("an open page that cannot fetch the new body says so, retries, and catches up", async ({
  page,
  browser,
}) => {
  const visitor = await browser.newContext();
  const open = await visitor.newPage();
  await open.goto("/status");
  const line = open.locator(".live-line");
  await expect(line).toContainText("Live", { timeout: 10_000 });
  // The first two fetches of the new body fail, as on a flaky phone connection.
  let failed = 0;
  await open.route("**/status/live", (route) => {
    if (failed < 2) {
      failed += 1;
      return route.abort("internetdisconnected");
    }
    return route.continue();
  });

  await loginAsAdmin(page, "/admin/components");
  const row = page.locator(".admin-row", { hasText: "Web UI" });
  await row.getByLabel("Status of Web UI").selectOption("degraded_performance");
  await row.getByRole("button", { name: "Update" }).click();

  await expect(line).toContainText("Connection lost");
  const web = open.locator(".component", { hasText: "Web UI" });
  await expect(web.locator(".pill")).toHaveText("Degraded performance", { timeout: 10_000 });
  await expect(line).toContainText("Live");
  expect(failed).toBe(2);
  expect(await open.evaluate(() => performance.getEntriesByType("navigation").length)).toBe(1);

  await page.locator(".admin-row", { hasText: "Web UI" }).getByLabel("Status of Web UI").selectOption("operational");
  await page.locator(".admin-row", { hasText: "Web UI" }).getByRole("button", { name: "Update" }).click();
  await expect(web.locator(".pill")).toHaveText("Operational");
  await visitor.close();
});

test("an open page answered by an instance that has not caught up yet asks again", async ({
  page,
  browser,
}) => {
  const visitor = await browser.newContext();
  const open = await visitor.newPage();
  await open.goto("/status");
  await expect(open.locator(".live-line")).toContainText("Live", { timeout: 10_000 });
  // What a second instance behind the load balancer would still answer: the old body.
  const old = await open.request.get("/status/live");
  const oldBody = await old.text();
  const oldVersion = old.headers()["x-status-version"];
  expect(oldVersion).toHaveLength(20);
  let stale = 0;
  await open.route("**/status/live", (route) => {
    if (stale < 1) {
      stale += 1;
      return route.fulfill({
        status: 200,
        headers: { "content-type": "text/html; charset=utf-8", "x-status-version": oldVersion },
        body: oldBody,
      });
    }
    return route.continue();
  });

  await loginAsAdmin(page, "/admin/components");
  const row = page.locator(".admin-row", { hasText: "Web UI" });
  await row.getByLabel("Status of Web UI").selectOption("partial_outage");
  await row.getByRole("button", { name: "Update" }).click();

  const web = open.locator(".component", { hasText: "Web UI" });
  await expect(web.locator(".pill")).toHaveText("Partial outage", { timeout: 5_000 });
  expect(stale).toBe(1);
  await expect(open.locator(".live-line")).toContainText("Live");

  await page.locator(".admin-row", { hasText: "Web UI" }).getByLabel("Status of Web UI").selectOption("operational");
  await page.locator(".admin-row", { hasText: "Web UI" }).getByRole("button", { name: "Update" }).click();
  await expect(web.locator(".pill")).toHaveText("Operational");
  await visitor.close();
});

test("relative times on an open page count on by themselves", async ({ page }) => {
  await page.clock.install();
  await page.goto("/status");
  await expect(page.locator(".live-line")).toContainText("Live", { timeout: 10_000 });
  // Times as the server renders them ("<time data-ms>"), aged by the device clock.
  await page.evaluate(() => {
    const now = Date.now();
    const ages: [string, number][] = [
      ["t-now", 0],
      ["t-min", 12 * 60_000],
      ["t-hours", 3 * 3_600_000],
      ["t-days", 2 * 86_400_000],
    ];
    for (const [id, age] of ages) {
      const t = document.createElement("time");
      t.id = id;
      t.dataset.ms = String(now - age);
      t.textContent = "?";
      document.body.append(t);
    }
  });
  // The module refreshes them every 20 seconds.
  await page.clock.runFor(21_000);
  await expect(page.locator("#t-now")).toHaveText("just now");
  await expect(page.locator("#t-min")).toHaveText("12 min ago");
  await expect(page.locator("#t-hours")).toHaveText("3 h ago");
  await expect(page.locator("#t-days")).toHaveText("2 d ago");
});

test("wrong password gets one clear message", async ({ page }) => {
  await page.goto("/login");
  await page.getByLabel("Email").fill("nobody@example.org");
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Email or password is incorrect.");
  await expect(page.getByLabel("Email")).toHaveValue("nobody@example.org");
});

test("an admin page without a session explains and offers to log in", async ({ page }) => {
  const response = await page.goto("/admin/components");
  expect(response?.status()).toBe(401);
  await page.getByRole("link", { name: "Log in" }).last().click();
  await expect(page).toHaveURL(/\/login\?next=/);
});

test("every page passes axe-core (no serious or critical violations)", async ({ page }) => {
  for (const path of ["/status", "/login", "/no/such/page"]) {
    await page.goto(path);
    await expectAccessible(page);
  }
  await loginAsAdmin(page);
  for (const path of ["/dashboard", "/admin/components", "/status"]) {
    await page.goto(path);
    await expectAccessible(page);
  }
  await clickNav(page, "Components");
  await page.getByRole("link", { name: "Sparse index" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Edit Sparse index");
  await expectAccessible(page);
  // A form error is shown next to its field, and is accessible too.
  await page.getByLabel("Name").fill("");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.locator("#name-error")).toHaveText("The name must not be empty.");
  await expectAccessible(page);
});
