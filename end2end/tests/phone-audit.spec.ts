// The phone audit: crawls every page the demo reaches as an admin, a responder and a visitor, on
// the phone, and checks each one for tap targets under 44 x 44 CSS px (unless a 44 px circle
// centred on the target touches no other target: WCAG 2.5.8's spacing rule, with 44 instead of
// 24), sideways scrolling, text under 14 px and axe-core's serious or critical findings. Every
// failure on every page is collected and reported together, so one run shows the whole list.
import { Page } from "@playwright/test";
import { clickNav, test, expect, expectAccessible } from "./helpers";
import { ADMIN_EMAIL, ADMIN_PASSWORD } from "../playwright.config";

/** The smallest comfortable tap target and text size, in CSS px. */
const TARGET = 44;
const MIN_TEXT = 14;
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

/** What one page's in-browser check finds (run inside the page). */
type Finding = { kind: string; what: string };

function auditInPage({ target, minText, scope }: { target: number; minText: number; scope: string }): Finding[] {
  const out: Finding[] = [];
  const TARGETS =
    "a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [tabindex]";

  /** A short CSS path to an element, for the report. */
  function path(el: Element): string {
    const parts: string[] = [];
    let e: Element | null = el;
    while (e && e !== document.body && parts.length < 4) {
      let s = e.tagName.toLowerCase();
      if (e.id) {
        parts.unshift(`${s}#${e.id}`);
        break;
      }
      const cls = [...e.classList].slice(0, 2).join(".");
      if (cls) s += `.${cls}`;
      const parent: Element | null = e.parentElement;
      if (parent) {
        const same = [...parent.children].filter((c) => c.tagName === e!.tagName);
        if (same.length > 1) s += `:nth-of-type(${same.indexOf(e) + 1})`;
      }
      parts.unshift(s);
      e = parent;
    }
    return parts.join(" > ");
  }
  const text = (el: Element) =>
    ((el as HTMLElement).innerText || el.getAttribute("aria-label") || (el as HTMLInputElement).value || "")
      .replace(/\s+/g, " ")
      .trim()
      .slice(0, 40);
  // Visually hidden text for screen readers: clipped to nothing by itself or an ancestor.
  const clippedCache = new Map<Element, boolean>();
  const clipped = (el: Element | null): boolean => {
    if (!el || el === document.body) return false;
    const known = clippedCache.get(el);
    if (known !== undefined) return known;
    const cs = getComputedStyle(el);
    const hidden = cs.clip === "rect(0px, 0px, 0px, 0px)" || cs.clipPath === "inset(50%)" || clipped(el.parentElement);
    clippedCache.set(el, hidden);
    return hidden;
  };
  const shown = (el: Element) => {
    const r = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) return false; // unrendered or visually hidden (1 px)
    if (r.right <= 0) return false; // parked off-screen (the skip link)
    // Also false inside a closed <details>, whose content keeps its layout boxes.
    if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) return false;
    return !clipped(el);
  };

  // Targets: interactive elements; a check box or radio button counts as its label when it has one.
  const targets: Element[] = [];
  const root = document.querySelector(scope) ?? document.body;
  for (const el of root.querySelectorAll(TARGETS)) {
    if (el.matches("[tabindex]") && Number(el.getAttribute("tabindex")) < 0) continue;
    if (el.matches("input[type=checkbox], input[type=radio]")) {
      const label = (el as HTMLInputElement).labels?.[0];
      if (label && shown(label)) {
        if (!targets.includes(label)) targets.push(label);
        continue;
      }
    }
    if (shown(el)) targets.push(el);
  }
  const rects = targets.map((el) => el.getBoundingClientRect());
  const small = rects.map((r) => r.width < target - 0.5 || r.height < target - 0.5);
  const centre = (r: DOMRect) => [r.left + r.width / 2, r.top + r.height / 2];
  const related = (a: Element, b: Element) => a.contains(b) || b.contains(a);
  targets.forEach((el, i) => {
    if (!small[i]) return;
    const [cx, cy] = centre(rects[i]);
    const radius = target / 2;
    let clash: Element | null = null;
    targets.forEach((other, j) => {
      if (clash || i === j || related(el, other)) return;
      const r = rects[j];
      // The circle touches the other target's box...
      const nx = Math.max(r.left, Math.min(cx, r.right));
      const ny = Math.max(r.top, Math.min(cy, r.bottom));
      if (Math.hypot(nx - cx, ny - cy) < radius - 0.5) clash = other;
      // ...or the other target is small too and their circles touch.
      const [ox, oy] = centre(r);
      if (small[j] && Math.hypot(ox - cx, oy - cy) < target - 0.5) clash = other;
    });
    if (clash) {
      const r = rects[i];
      out.push({
        kind: "tap target",
        what: `${path(el)} "${text(el)}" ${Math.round(r.width)}x${Math.round(r.height)} px, too close to ${path(clash)} "${text(clash)}"`,
      });
    }
  });

  // No sideways scrolling; name what sticks out.
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth) {
    const wide = [...document.body.querySelectorAll("*")]
      .filter((e) => e.getBoundingClientRect().right > doc.clientWidth + 0.5 && e.getBoundingClientRect().width > 0)
      .filter((e) => ![...e.children].some((c) => c.getBoundingClientRect().right > doc.clientWidth + 0.5))
      .slice(0, 3)
      .map((e) => `${path(e)} (right edge ${Math.round(e.getBoundingClientRect().right)})`);
    out.push({
      kind: "sideways scroll",
      what: `page is ${doc.scrollWidth} px wide in a ${doc.clientWidth} px screen: ${wide.join("; ")}`,
    });
  }

  // Visible text under the minimum size.
  const seen = new Set<string>();
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = (n.textContent || "").trim();
    const parent = n.parentElement;
    if (!t || !parent || parent.closest("script, style, noscript, template")) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    const r = range.getBoundingClientRect();
    if (r.width < 2 || r.height < 2 || !shown(parent)) continue;
    const size = parseFloat(getComputedStyle(parent).fontSize);
    if (size < minText - 0.05) {
      const what = `${path(parent)} "${t.replace(/\s+/g, " ").slice(0, 30)}" ${size.toFixed(1)} px`;
      const key = `${path(parent)} ${size}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push({ kind: "small text", what });
      }
    }
  }
  return out;
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
