// The phone audit: crawls every page the demo reaches as an admin, a responder and a visitor, on
// the phone, and checks each one for tap targets under 44 x 44 CSS px (unless a 44 px circle
// centred on the target touches no other target: WCAG 2.5.8's spacing rule, with 44 instead of
// 24), sideways scrolling, text under 14 px and axe-core's serious or critical findings. Every
// failure on every page is collected and reported together, so one run shows the whole list.
import { Page } from "@playwright/test";
import { clickNav, test, expect, expectAccessible } from "./helpers";
import { ADMIN_EMAIL, ADMIN_PASSWORD } from "../playwright.config";
import { auditInPage, MIN_TEXT, TARGET } from "./phone-fit";

/** Distinct page patterns visited per role: enough for every page of the demo, bounded in time. */
const MAX_PAGES = 45;

/** Links the crawl never follows: actions, one-tap links, downloads, feeds, APIs and streams. */
const SKIP = [
  /^\/logout/,
  /^\/a\//,
  /^\/api\//,
  /^\/ical\//,
  /^\/events\//,
  /^\/pkg\//,
  /^\/badge/,
  /^\/hooks\//,
  /^\/v2\//,
  /^\/(healthz|readyz)$/,
  /\/live$/,
  /\.(ics|rss|atom|json|xml|svg|png|webmanifest|csv|txt)$/,
];

/**
 * A URL's pattern: path segments with a digit or of twelve letters (an id) become `:id`, query
 * values other than plain words become `:v` (so `?view=week` stays distinct, `?from=2026-11-30`
 * does not), the fragment goes.
 */
function pattern(url: URL): string {
  const path = url.pathname
    .split("/")
    .map((s) => (/\d/.test(s) || /^[a-z0-9]{12}$/.test(s) || s.length > 24 ? ":id" : s))
    .join("/");
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => `${k}=${/^[a-z_]{1,16}$/i.test(v) ? v : ":v"}`)
    .sort()
    .join("&");
  return query ? `${path}?${query}` : path;
}

async function login(page: Page, email: string) {
  await page.goto("/login?next=%2Fdashboard");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
}

/**
 * Opens an on-call incident as a monitoring tool would (the demo's are resolved), so the pages
 * with an incident at work (its big buttons, the menu's count) are checked too.
 */
async function openAnIncident(page: Page) {
  await page.goto("/services");
  await page.locator('main a[href^="/services/"]').first().click();
  const key = (await page.locator("[data-key] code").nth(1).textContent())!.trim();
  const answer = await page.request.post("/v2/enqueue", {
    data: {
      routing_key: key,
      event_action: "trigger",
      dedup_key: "phone-audit",
      payload: { summary: "Phone audit: an open incident", source: "phone-audit", severity: "critical" },
    },
  });
  expect(answer.status()).toBe(202);
}

for (const role of [
  // "/oncall?state=all" is what the incident filter (a GET form) shows: the demo's on-call
  // incidents are resolved, so no link leads to them otherwise.
  { name: "admin", email: ADMIN_EMAIL, start: ["/dashboard", "/status", "/oncall?state=all"] },
  { name: "responder", email: "jonas@firstline-contractors.example", start: ["/dashboard", "/status", "/oncall?state=all"] },
  { name: "visitor", email: null, start: ["/status", "/"] },
]) {
  test(`every page fits a phone, as ${role.name}`, async ({ page, baseURL }, testInfo) => {
    test.skip(testInfo.project.name !== "phone", "the audit measures the phone layout");
    test.setTimeout(240_000);
    const started = Date.now();
    if (role.email) await login(page, role.email);
    const origin = new URL(baseURL!).origin;
    if (role.name === "admin") await openAnIncident(page);

    const queue: string[] = role.start.map((p) => new URL(p, origin).href);
    const patterns = new Set<string>(queue.map((u) => pattern(new URL(u))));
    const visited: string[] = [];
    // failure text -> pages it shows on
    const failures = new Map<string, string[]>();
    const fail = (kind: string, what: string, where: string) => {
      const key = `${kind}: ${what}`;
      const pages = failures.get(key) ?? [];
      if (!pages.includes(where)) pages.push(where);
      failures.set(key, pages);
    };

    while (queue.length && visited.length < MAX_PAGES) {
      const url = queue.shift()!;
      const answer = await page.goto(url, { waitUntil: "load" });
      const here = new URL(page.url());
      const where = here.pathname + here.search;
      // A redirect to a page already seen (e.g. "/" to the dashboard) is not checked twice.
      if (visited.includes(where)) continue;
      visited.push(where);
      if (answer && answer.status() >= 500) fail("server error", `${answer.status()}`, where);

      // First the page with every disclosure in it open (their contents are checked too), then
      // with the header's menu open, checking the header alone (its panel covers the page).
      const passes = [
        { open: "main details, footer details", scope: "body" },
        { open: "header details", scope: "header" },
      ];
      for (const { open, scope } of passes) {
        const opened = await page.$$eval(open, (ds) => ds.map((d) => ((d as HTMLDetailsElement).open = true)).length);
        if (scope === "header" && opened === 0) continue;
        for (const f of await page.evaluate(auditInPage, { target: TARGET, minText: MIN_TEXT, scope })) {
          fail(f.kind, f.what, where);
        }
        // The open menu is the same on every page but for the current entry: axe checks it once.
        if (scope === "header" && visited.length > 1) continue;
        try {
          await expectAccessible(page);
        } catch (e) {
          const message = String((e as Error).message).replace(/\u001b\[[0-9;]*m/g, "");
          const lines = message
            .split("\n")
            .filter((l) => /\((serious|critical)\)/.test(l))
            .map((l) => l.replace(/^\s*[+-]?\s*"|",?$/g, "").trim());
          for (const l of lines.length ? lines : [message.split("\n").slice(0, 3).join(" ")]) {
            fail("axe", l.slice(0, 400), where);
          }
        }
      }

      // Same-origin links, breadth first, one page per pattern.
      const hrefs = await page.$$eval("a[href]", (as) =>
        as.filter((a) => !a.hasAttribute("download")).map((a) => (a as HTMLAnchorElement).href),
      );
      for (const h of hrefs) {
        const u = new URL(h);
        if (u.origin !== origin || SKIP.some((re) => re.test(u.pathname))) continue;
        u.hash = "";
        const p = pattern(u);
        if (patterns.has(p)) continue;
        patterns.add(p);
        queue.push(u.href);
      }
    }

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`phone audit (${role.name}): ${visited.length} pages in ${seconds} s, ${queue.length} left unvisited: ${visited.join(" ")}`);
    const report = [...failures.entries()].map(
      ([what, pages]) => `${what}\n    on ${pages.length} page(s): ${pages.slice(0, 4).join(", ")}${pages.length > 4 ? ", …" : ""}`,
    );
    if (report.length) console.log(`phone audit (${role.name}) failures:\n${report.join("\n")}`);
    expect(report, `phone audit as ${role.name}: ${report.length} problem(s)`).toEqual([]);
    // The crawl reached more than its starting pages.
    expect(visited.length).toBeGreaterThan(role.email ? 10 : 3);
  });
}

test("the navigation is one row: a menu on the phone, a row of links on a desktop", async ({ browser, isMobile }, testInfo) => {
  // Without JavaScript: the menu is a disclosure the browser opens by itself.
  const context = await browser.newContext({ ...testInfo.project.use, javaScriptEnabled: false });
  const page = await context.newPage();
  await login(page, ADMIN_EMAIL);
  const header = page.locator("header.topbar");
  const nav = page.getByRole("navigation", { name: "Main" });
  const menu = page.locator(".menu > summary");
  // The header is a single row, whatever the screen.
  expect((await header.boundingBox())!.height).toBeLessThan(60);
  if (isMobile) {
    await expect(menu).toBeVisible();
    await expect(menu).toHaveAccessibleName(/^Menu/);
    await expect(nav.getByRole("link", { name: "Profile" })).toBeHidden();
    // The keyboard opens it: the skip link, the brand, then the menu control.
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    await expect(menu).toBeFocused();
    await page.keyboard.press("Enter");
    await expect(nav.getByRole("link", { name: "Profile" })).toBeVisible();
    const box = (await nav.getByRole("link", { name: "Profile" }).boundingBox())!;
    expect(box.height).toBeGreaterThanOrEqual(44);
    await page.keyboard.press("Tab");
    await expect(nav.getByRole("link", { name: "Home" })).toBeFocused();
  } else {
    await expect(menu).toBeHidden();
    await expect(nav.getByRole("link", { name: "Profile" })).toBeVisible();
    // The keyboard goes from the brand straight to the first entry.
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    await expect(nav.getByRole("link", { name: "Home" })).toBeFocused();
    await expect(nav.getByRole("button", { name: "Log out" })).toBeVisible();
    // A narrower window keeps one row too: the admin's long row folds into the menu there.
    await page.setViewportSize({ width: 1024, height: 768 });
    expect((await header.boundingBox())!.height).toBeLessThan(60);
    await expect(menu).toBeVisible();
    await page.setViewportSize({ width: 1280, height: 720 });
  }
  await expect(nav.getByRole("link", { name: "Home" })).toHaveAttribute("aria-current", "page");
  await expect(nav.locator("[aria-current]")).toHaveCount(1);
  // Following an entry marks it current.
  await clickNav(page, "Profile");
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.locator('nav[aria-label="Main"] a[href="/profile"]')).toHaveAttribute("aria-current", "page");
  await context.close();

  // A visitor's two entries are a row on any screen: no menu to open for "Log in".
  const visitor = await browser.newContext({ ...testInfo.project.use, javaScriptEnabled: false });
  const pub = await visitor.newPage();
  await pub.goto("/status");
  await expect(pub.locator(".menu > summary")).toBeHidden();
  await expect(pub.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Log in" })).toBeVisible();
  await expect(pub.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Status" })).toHaveAttribute("aria-current", "page");
  expect((await pub.locator("header.topbar").boundingBox())!.height).toBeLessThan(60);
  await visitor.close();
});
