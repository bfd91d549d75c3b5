// Screenshots of the main pages on a desktop and a phone, for the README: run by
// scripts/screenshots.sh, which starts the demo on a temporary database and passes its address.
// Writes docs/screenshots/<page>-<desktop|phone>.png (CSS pixels, at most 3000 px tall).
import { chromium, devices } from "playwright";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const BASE = process.env.SCREENSHOT_BASE || "http://127.0.0.1:3000";
const PASSWORD = process.env.FIRSTLINE_DEMO_PASSWORD || "e2e demo password";
const ADMIN = "aisha@crates-volunteers.example";
const OUT = process.env.SCREENSHOT_DIR || join(dirname(fileURLToPath(import.meta.url)), "..", "docs", "screenshots");
const MAX_HEIGHT = 3000;

const shapes = {
  desktop: { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 },
  phone: { ...devices["Pixel 7"] },
};

/** The first link on `path` whose href matches `re`, as an absolute path. */
async function firstLink(page, path, re) {
  await page.goto(BASE + path);
  const hrefs = await page.$$eval("main a[href]", (as) => as.map((a) => a.getAttribute("href")));
  const found = hrefs.find((h) => re.test(h));
  if (!found) throw new Error(`no link matching ${re} on ${path}`);
  return found;
}

async function shoot(page, name, shape, path, before) {
  await page.goto(BASE + path, { waitUntil: "load" });
  if (before) await before(page);
  // Let the live status line and islands settle.
  await page.waitForTimeout(400);
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  const width = page.viewportSize().width;
  const file = join(OUT, `${name}-${shape}.png`);
  await page.screenshot({
    path: file,
    fullPage: true,
    scale: "css",
    clip: { x: 0, y: 0, width, height: Math.min(height, MAX_HEIGHT) },
  });
  console.log(`wrote ${file}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
mkdirSync(OUT, { recursive: true });

/** Opens an on-call incident the way a monitoring tool would, so the pages show one at work. */
async function triggerAlert(page) {
  const service = await firstLink(page, "/services", /^\/services\/[a-z0-9]+$/);
  await page.goto(BASE + service);
  const key = (await page.locator("[data-key] code").nth(1).textContent()).trim();
  const answer = await fetch(`${BASE}/v2/enqueue`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      routing_key: key,
      event_action: "trigger",
      dedup_key: "screenshots-cdn-5xx",
      payload: { summary: "CDN 5xx above 5%", source: "cdn-edge-3", severity: "critical" },
    }),
  });
  if (answer.status !== 202) throw new Error(`the alert was refused: ${answer.status}`);
}

try {
  let alerted = false;
  for (const [shape, options] of Object.entries(shapes)) {
    // Signed in as the demo admin.
    const admin = await browser.newContext(options);
    const page = await admin.newPage();
    await page.goto(`${BASE}/login?next=%2Fdashboard`);
    await page.getByLabel("Email").fill(ADMIN);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL(/\/dashboard$/);
    if (!alerted) {
      await triggerAlert(page);
      alerted = true;
      await page.waitForTimeout(500);
    }

    const calendar = await firstLink(page, "/schedules", /^\/schedules\/(?!new$)[a-z0-9]+$/);
    const oncall = await firstLink(page, "/oncall", /^\/oncall\/[a-z0-9]+$/);
    await shoot(page, "dashboard", shape, "/dashboard");
    if (shape === "phone") {
      await shoot(page, "menu-open", shape, "/dashboard", (p) => p.locator(".menu > summary").click());
    }
    await shoot(page, "calendar", shape, calendar);
    await shoot(page, "calendar-month", shape, `${calendar}?view=month`);
    await shoot(page, "my-shifts", shape, "/my/shifts");
    await shoot(page, "oncall-incident", shape, oncall);
    await shoot(page, "profile", shape, "/profile");
    await shoot(page, "admin-status", shape, "/admin/components");
    await shoot(page, "status-posts", shape, "/admin/incidents");
    await admin.close();

    // A visitor, not signed in.
    const visitor = await browser.newContext(options);
    const pub = await visitor.newPage();
    await shoot(pub, "status-page", shape, "/status");
    const incident = await firstLink(pub, "/history", /^\/incidents\/[^/]+$/);
    await shoot(pub, "public-incident", shape, incident);
    await visitor.close();
  }
} finally {
  await browser.close();
}
