// On call as a new person meets it, on the viewport where each problem was seen: times in the
// reader's own zone and named, every open request in "For you", draft schedules until published,
// people added, moved and removed in the layer form without JavaScript, zone errors as a
// sentence next to the field, My shifts as merged stretches with a confirmation step, and the
// dashboard's "you" and "no gaps".
import { Browser, Page } from "@playwright/test";
import { expect, expectAccessible, loginAsAdmin, test } from "./helpers";
import { ADMIN_PASSWORD } from "../playwright.config";

async function loginAs(browser: Browser, email: string, isMobile: boolean, js = true): Promise<Page> {
  const context = await browser.newContext({
    ...(isMobile
      ? { viewport: { width: 412, height: 915 }, isMobile: true, hasTouch: true, userAgent: "Mozilla/5.0 (Linux; Android 14; Pixel 7) Mobile" }
      : {}),
    javaScriptEnabled: js,
  });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  return page;
}

/** "Mon 30 Nov, 10:00 CET → Tue 1 Dec, 15:00 CET" into its two ends. */
function ends(text: string): [string, string] {
  const [a, b] = text.split("→").map((s) => s.trim());
  return [a, b];
}

test("phone: Leah in New York reads Maya's request in her own zone, and every open request is offered", async ({ browser, isMobile }) => {
  test.skip(!isMobile, "seen on a phone");
  const maya = await loginAs(browser, "maya@crates-volunteers.example", true);
  await maya.goto("/my/shifts");
  // Ask for a later stretch (the demo already has one open request for the first).
  const card = maya.locator(".my-shift").filter({ has: maya.getByRole("button", { name: "Ask someone to take this" }) }).first();
  const [start] = ends((await card.locator("p").nth(1).textContent())!);
  await card.getByRole("button", { name: "Ask someone to take this" }).click();
  // A confirmation step: nothing is asked yet.
  await expect(maya.getByRole("heading", { level: 1 })).toHaveText("Ask someone to take this?");
  await expect(maya.getByText(start)).toBeVisible();
  await expect(maya.getByText("Times in Europe/Zurich")).toBeVisible();
  await expectAccessible(maya);
  await maya.getByRole("button", { name: "Yes, ask my teammates" }).click();
  await expect(maya.getByRole("status")).toContainText("Your teammates were asked");

  const leah = await loginAs(browser, "leah@crates-volunteers.example", true);
  const forYou = leah.locator("section.for-you");
  await expect(forYou.locator(".takeable .swap")).toHaveCount(2);
  // Her hours, her zone, named; never Maya's Zurich hours.
  await expect(forYou.locator(".takeable")).toContainText("EST");
  await expect(forYou.locator(".takeable")).not.toContainText("CET");
  await expect(forYou).toContainText("Times in America/New_York");
  await expect(forYou.locator(".notices")).toContainText("(America/New_York)");
  await expect(leah.locator(".now-card").first()).toContainText("Times in America/New_York");
  await expectAccessible(leah);
  const width = await leah.evaluate(() => document.documentElement.scrollWidth);
  expect(width).toBeLessThanOrEqual(412);
  await maya.context().close();
  await leah.context().close();
});

test("phone: My shifts shows each stretch once, and an asked stretch says so", async ({ browser, isMobile }) => {
  test.skip(!isMobile, "seen on a phone");
  const maya = await loginAs(browser, "maya@crates-volunteers.example", true);
  await maya.goto("/my/shifts");
  const cards = maya.locator(".my-shift");
  const n = await cards.count();
  expect(n).toBeGreaterThan(0);
  const texts: [string, string, string][] = [];
  for (let i = 0; i < n; i++) {
    const c = cards.nth(i);
    const schedule = (await c.locator("strong").first().textContent())!;
    const [a, b] = ends((await c.locator("p").nth(1).textContent())!);
    texts.push([schedule, a, b]);
  }
  // No card of a schedule ends where the next of the same schedule starts.
  for (let i = 0; i < texts.length; i++) {
    for (let j = i + 1; j < texts.length; j++) {
      if (texts[i][0] === texts[j][0]) expect(texts[i][2], `cards ${i} and ${j}`).not.toBe(texts[j][1]);
    }
  }
  // The demo's open request: its stretch says so and offers no second ask.
  const asked = cards.filter({ hasText: "You asked your teammates" }).first();
  await expect(asked).toBeVisible();
  await expect(asked.getByRole("button", { name: "Ask someone to take this" })).toHaveCount(0);
  await expect(maya.getByText(/times in Europe\/Zurich/)).toBeVisible();
  await expectAccessible(maya);
  await maya.context().close();
});

test.describe("without JavaScript", () => {
  test("desktop: a new schedule is a draft; people are added, moved and removed in the form; zone errors sit by the field", async ({ browser, isMobile }) => {
    test.skip(isMobile, "seen on a desktop");
    const admin = await loginAs(browser, "aisha@crates-volunteers.example", false, false);
    const name = "Night desk (newcomer)";
    await admin.goto("/schedules/new");
    await admin.getByLabel("Name").fill(name);
    await admin.getByLabel(/Time zone/).fill("Berlin");
    await admin.getByRole("button", { name: "Create draft schedule" }).click();
    // A sentence next to the field, no raw field name, everything typed kept.
    const zone = admin.getByLabel(/Time zone/);
    await expect(zone).toHaveValue("Berlin");
    await expect(zone).toHaveAttribute("aria-invalid", "true");
    await expect(zone).toHaveAttribute("list", "zones");
    await expect(admin.locator("#time_zone-error")).toHaveText("“Berlin” is not a time zone name. Did you mean Europe/Berlin? Choose it from the list.");
    await expect(admin.getByText("time_zone:")).toHaveCount(0);
    await expect(admin.getByLabel("Name")).toHaveValue(name);
    // The admin's own zone is offered first.
    await expect(admin.locator("#zones option").first()).toHaveAttribute("value", "Europe/London");
    await zone.fill("Europe/Berlin");
    await admin.getByRole("button", { name: "Create draft schedule" }).click();
    await expect(admin.locator(".draft-panel")).toContainText("Only admins see this schedule");

    // Jonas does not see the draft, nor a red gap for it.
    const jonas = await loginAs(browser, "jonas@firstline-contractors.example", false);
    await expect(jonas.getByText(name)).toHaveCount(0);
    await expect(jonas.getByText(`Coverage gap in ${name}`)).toHaveCount(0);

    const add = () => admin.locator("section.layer").last();
    await add().getByLabel("Layer name").fill("Nights");
    await add().getByLabel("Person 1", { exact: true }).selectOption({ label: "1. Jonas Weber" });
    await add().getByRole("button", { name: "Add person" }).click();
    // Re-rendered by the server: the typed name is kept, a second slot is there.
    await expect(add().getByLabel("Layer name")).toHaveValue("Nights");
    await add().getByLabel("Person 2", { exact: true }).selectOption({ label: "2. Priya Nair" });
    await add().getByRole("button", { name: "Add person" }).click();
    await add().getByLabel("Person 3", { exact: true }).selectOption({ label: "3. Mei Tanaka" });
    await add().getByRole("button", { name: "Move person 3 up" }).click();
    await expect(add().getByLabel("Person 2", { exact: true }).locator("option:checked")).toHaveText("2. Mei Tanaka");
    await expect(add().getByLabel("Person 3", { exact: true }).locator("option:checked")).toHaveText("3. Priya Nair");
    await add().getByRole("button", { name: "Remove person 1" }).click();
    await expect(add().locator('select[name="participant"]')).toHaveCount(2);
    await expect(add().getByLabel("Person 1", { exact: true }).locator("option:checked")).toHaveText("1. Mei Tanaka");
    await expect(add().getByLabel("Layer name")).toHaveValue("Nights");
    await add().getByRole("button", { name: "Save", exact: true }).click();
    await expect(admin.getByRole("status").filter({ hasText: "Saved" })).toBeVisible();
    const layer = admin.locator("section.layer").first();
    await expect(layer.getByLabel("Person 1", { exact: true }).locator("option:checked")).toHaveText("1. Mei Tanaka");
    await expect(layer.getByLabel("Person 2", { exact: true }).locator("option:checked")).toHaveText("2. Priya Nair");

    await admin.getByRole("button", { name: "Publish schedule" }).click();
    await expect(admin.getByRole("status").filter({ hasText: "Published" })).toBeVisible();
    await jonas.goto("/dashboard");
    await expect(jonas.getByRole("link", { name })).toBeVisible();
    await admin.context().close();
    await jonas.context().close();
  });
});

test("desktop: the refused new-schedule form and the draft's edit page pass the accessibility check", async ({ page, isMobile }) => {
  test.skip(isMobile, "seen on a desktop");
  await loginAsAdmin(page, "/schedules/new");
  await page.getByLabel("Name").fill("Accessible draft");
  await page.getByLabel(/Time zone/).fill("Zurich");
  await page.getByRole("button", { name: "Create draft schedule" }).click();
  await expect(page.locator("#time_zone-error")).toContainText("Did you mean Europe/Zurich?");
  await expectAccessible(page);
  await page.getByLabel(/Time zone/).fill("Europe/Zurich");
  await page.getByRole("button", { name: "Create draft schedule" }).click();
  await page.locator("section.layer").last().getByRole("button", { name: "Add person" }).click();
  await expect(page.locator("section.layer").last().locator('select[name="participant"]')).toHaveCount(2);
  await expectAccessible(page);
});

test("desktop: the dashboard marks you, names the zone, and says when there are no gaps", async ({ browser, isMobile }) => {
  test.skip(isMobile, "seen on a desktop");
  const maya = await loginAs(browser, "maya@crates-volunteers.example", false);
  const secondary = maya.getByRole("region", { name: "Volunteer secondary: on call now" });
  await expect(secondary.locator(".you-tag")).toHaveText("you");
  await expect(secondary).toContainText("Times in Europe/Zurich");
  await expect(secondary).toContainText(/\((Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d+ \w+, \d\d:\d\d CET\)/);
  await expect(secondary).toContainText("No gaps in the next 4 weeks.");
  await expect(maya.getByRole("region", { name: "Your open requests" })).toContainText("You asked someone to take");
  await expectAccessible(maya);
  await maya.context().close();
});

test("desktop: profile time zone is chosen from a searchable list; a wrong one is a sentence by the field", async ({ page, isMobile }) => {
  test.skip(isMobile, "seen on a desktop");
  await loginAsAdmin(page, "/profile");
  const zone = page.getByLabel(/Time zone/);
  await expect(zone).toHaveAttribute("list", "zones");
  await zone.fill("new york");
  await page.getByRole("button", { name: "Save" }).first().click();
  await expect(page.locator("#time_zone-error")).toContainText("Did you mean America/New_York?");
  await expect(page.getByLabel(/Time zone/)).toHaveValue("new york");
  await expectAccessible(page);
});
