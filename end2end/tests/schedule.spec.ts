// Shift calendars on desktop and phone: browsing, covering a shift, asking for and accepting a
// swap, and the coverage-gap banner.
import { Browser, Page } from "@playwright/test";
import { clickNav, expect, expectAccessible, loginAsAdmin, test } from "./helpers";
import { ADMIN_PASSWORD } from "../playwright.config";

async function loginAs(browser: Browser, email: string, isMobile: boolean): Promise<Page> {
  const context = await browser.newContext(
    isMobile ? { viewport: { width: 412, height: 915 }, isMobile: true, hasTouch: true, userAgent: "Mozilla/5.0 (Linux; Android 14; Pixel 7) Mobile" } : {},
  );
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  return page;
}

test("the first screen says who is on call, until when, who is next", async ({ page }) => {
  // A controlled clock shows that the countdown island ticks by itself (gloo-timers).
  await page.clock.install();
  await loginAsAdmin(page);
  const card = page.getByRole("region", { name: "First line: on call now" });
  await expect(card).toContainText("On call now:");
  await expect(card).toContainText("Next:");
  const countdown = card.locator(".countdown");
  await expect(countdown).toHaveText(/^in /);
  const before = (await countdown.textContent())!;
  await page.clock.fastForward("02:00:00");
  await expect(countdown).not.toHaveText(before);
  await expectAccessible(page);
});

test("browse week, month and agenda, with the zone named", async ({ page, isMobile }) => {
  await loginAsAdmin(page);
  await page.goto("/schedules");
  await page.getByRole("link", { name: "First line" }).first().click();
  // Phones get the agenda first; desktops the week.
  await expect(page.locator(isMobile ? ".agenda" : ".week")).toBeVisible();
  await expect(page.locator(".cal-head").getByText("Times in Europe/London")).toBeVisible();
  for (const view of ["Week", "Month", "Agenda"]) {
    await page.getByRole("link", { name: view, exact: true }).click();
    await expect(page.getByRole("link", { name: view, exact: true })).toHaveAttribute("aria-current", "page");
    // Phones list only the days of the month shown; the grid's days from next to it are hidden.
    await expect(page.locator(".chip:visible").first()).toBeVisible();
    await expectAccessible(page);
  }
  // Next and previous periods.
  const period = await page.locator(".period").textContent();
  await page.getByRole("link", { name: "Next period" }).click();
  await expect(page.locator(".period")).not.toHaveText(period!);
  await page.getByRole("link", { name: "Previous period" }).click();
  await expect(page.locator(".period")).toHaveText(period!);
});

test("an admin covers a shift from the calendar", async ({ page }) => {
  await loginAsAdmin(page);
  await page.goto("/schedules");
  await page.getByRole("link", { name: "First line" }).first().click();
  await page.getByRole("link", { name: "Agenda", exact: true }).click();
  const chip = page.locator(".chip.source-layer").filter({ hasNotText: "Aisha Rahman" }).nth(3);
  const who = (await chip.locator(".chip-who").textContent())!.trim();
  await chip.click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(`${who}'s shift`);
  await expectAccessible(page);
  await page.getByRole("button", { name: "Cover this shift" }).click();
  await expect(page.locator(".chip.source-override", { hasText: "Aisha Rahman" }).first()).toBeVisible();
});

test("ask someone to take a shift; a teammate accepts from a phone", async ({ browser, isMobile }) => {
  const maya = await loginAs(browser, "maya@crates-volunteers.example", isMobile);
  await maya.getByRole("link", { name: "My shifts" }).first().click();
  await expect(maya.getByText(/times in Europe\/Zurich/)).toBeVisible();
  await expectAccessible(maya);
  // The first stretch without an open request (the demo asked for one already).
  const first = maya.locator(".my-shift").filter({ has: maya.getByRole("button", { name: "Ask someone to take this" }) }).first();
  const when = (await first.locator("p").nth(1).textContent())!;
  await first.getByRole("button", { name: "Ask someone to take this" }).click();
  await maya.getByLabel(/Note for your teammates/).fill("I'm at a wedding");
  await maya.getByRole("button", { name: "Yes, ask my teammates" }).click();
  await expect(maya.getByRole("status")).toContainText("Your teammates were asked");

  const leah = await loginAs(browser, "leah@crates-volunteers.example", true);
  await expect(leah.getByText(/Maya Keller asks someone to take/).first()).toBeVisible();
  await leah.goto("/swaps");
  const request = leah.locator(".swap", { hasText: "I'm at a wedding" }).filter({ hasText: "Open" }).first();
  await request.getByRole("button", { name: "Accept, I'll take it" }).click();
  await expect(leah.getByRole("status")).toContainText("The shift is yours now");
  await expectAccessible(leah);

  // Maya sees who covers, and her notice.
  await maya.goto("/dashboard");
  await expect(maya.getByText(/Leah Cohen took your shift/).first()).toBeVisible();
  await maya.getByRole("link", { name: "My shifts" }).first().click();
  await expect(maya.locator(".my-shift", { hasText: when })).toHaveCount(0);
  await maya.context().close();
  await leah.context().close();
});

test("a gap banner appears when a participant is removed and goes when covered", async ({ page, isMobile }) => {
  await loginAsAdmin(page);
  const name = `Weekend desk ${isMobile ? "phone" : "desktop"}`;
  await page.goto("/schedules/new");
  await page.getByLabel("Name").fill(name);
  await page.getByLabel(/Time zone/).fill("Europe/Berlin");
  await page.getByRole("button", { name: "Create draft schedule" }).click();
  const add = page.locator("section.layer").last();
  await add.getByLabel("Layer name").fill("Desk");
  await add.getByLabel("Person 1", { exact: true }).selectOption({ label: "1. Jonas Weber" });
  await add.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved" })).toBeVisible();
  await page.getByRole("button", { name: "Publish schedule" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Published" })).toBeVisible();

  // Remove Jonas: the layer has nobody from today on. Saving stops and says where the gap is.
  const layer = page.locator("section.layer").first();
  await layer.getByLabel("Person 1", { exact: true }).selectOption({ label: "1. (choose someone)" });
  await layer.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Not saved: this change leaves nobody on call" })).toBeVisible();
  await expectAccessible(page);
  await page.locator("section.layer").first().getByRole("button", { name: "Save anyway" }).click();
  await page.getByRole("link", { name: `← ${name}` }).click();
  await expect(page.getByRole("alert").filter({ hasText: `Coverage gap in ${name}` })).toBeVisible();
  await page.goto("/dashboard");
  await expect(page.getByRole("alert").filter({ hasText: `Coverage gap in ${name}` })).toBeVisible();

  // Cover it: Priya takes the layer; the banner goes away.
  await page.getByRole("link", { name }).first().click();
  await page.getByRole("link", { name: "Edit layers and people" }).click();
  const again = page.locator("section.layer").first();
  await again.getByLabel("Person 1", { exact: true }).selectOption({ label: "1. Priya Nair" });
  await again.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved" })).toBeVisible();
  await page.getByRole("link", { name: `← ${name}` }).click();
  await expect(page.getByText(`Coverage gap in ${name}`)).toHaveCount(0);
  await expect(page.locator(".now-card")).toContainText("Priya Nair");
});

test("profile: time zone and the private iCal link", async ({ page, request }) => {
  await loginAsAdmin(page);
  await clickNav(page, "Profile");
  const link = await page.getByLabel("Your iCal feed URL").inputValue();
  const feed = await request.get(link);
  expect(feed.status()).toBe(200);
  expect(await feed.text()).toContain("BEGIN:VCALENDAR");
  await page.getByLabel(/Time zone/).fill("Mars/Olympus");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("alert")).toContainText("“Mars/Olympus” is not a time zone name");
  await page.getByLabel(/Time zone/).fill("Europe/London");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved" })).toBeVisible();
  await page.getByRole("button", { name: "Revoke this link and make a new one" }).click();
  expect((await request.get(link)).status()).toBe(404);
  await expectAccessible(page);
});
