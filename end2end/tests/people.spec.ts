// People: an admin invites someone from the browser, and they join through the link on their
// own device (desktop and phone projects), logged in with the role and team they were given.
import { expect, expectAccessible, loginAsAdmin, test } from "./helpers";
import { expectFitsPhone } from "./phone-fit";

test("an admin invites a person who joins through the link", async ({ page, browser, isMobile }, testInfo) => {
  // One server serves both projects: each run invites its own address.
  const email = `newcomer-${testInfo.project.name}-${Date.now()}@crates-volunteers.example`;
  const name = `Newcomer ${testInfo.project.name}`;
  const password = "a long enough e2e password";

  await loginAsAdmin(page, "/admin/people");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("People");
  await expectAccessible(page);

  const form = page.locator("form[action='/admin/people/invitations']");
  await form.getByLabel("Email").fill(email);
  await form.getByLabel("Role").selectOption("responder");
  await form.getByLabel("First line", { exact: true }).check();
  await form.getByRole("button", { name: "Create invitation" }).click();

  // The link is shown once, ready to copy.
  await expect(page).toHaveURL(/\/admin\/people\?done=invited&i=[a-z0-9]+$/);
  const linkBox = page.getByLabel("Invitation link");
  await expect(linkBox).toBeVisible();
  const link = await linkBox.inputValue();
  expect(link).toMatch(/\/invite\/[A-Za-z0-9_-]{43}$/);
  await expect(page.locator(`[data-invitation="${email}"]`)).toContainText("pending");
  await expectAccessible(page);

  // The newcomer opens it in a browser of their own.
  const context = await browser.newContext(
    isMobile
      ? { viewport: { width: 412, height: 915 }, isMobile: true, hasTouch: true, userAgent: "Mozilla/5.0 (Linux; Android 14; Pixel 7) Mobile" }
      : {},
  );
  const newcomer = await context.newPage();
  await newcomer.goto(link);
  await expect(newcomer.getByRole("heading", { level: 1 })).toHaveText("Join Firstline");
  await expect(newcomer.getByText(`You will log in as ${email}.`)).toBeVisible();
  await expectAccessible(newcomer);
  // Reached only from an email, so the phone audit's crawl never sees it: checked here.
  if (isMobile) await expectFitsPhone(newcomer);

  // A mistake is a plain sentence next to its field, and what was typed is kept.
  await newcomer.getByLabel("Your name").fill(name);
  await newcomer.getByLabel("Password (at least 10 characters)").fill(password);
  await newcomer.getByLabel("Password again", { exact: true }).fill(`${password}!`);
  await newcomer.getByLabel(/^Your time zone/).fill("Europe/Berlin");
  await newcomer.getByRole("button", { name: "Join" }).click();
  await expect(newcomer.locator("#password_again-error")).toHaveText("The two passwords are not the same.");
  await expect(newcomer.getByLabel("Your name")).toHaveValue(name);
  await expectAccessible(newcomer);
  if (isMobile) await expectFitsPhone(newcomer);

  await newcomer.getByLabel("Password (at least 10 characters)").fill(password);
  await newcomer.getByLabel("Password again", { exact: true }).fill(password);
  await newcomer.getByRole("button", { name: "Join" }).click();
  await expect(newcomer).toHaveURL(/\/dashboard$/);
  await expect(newcomer.getByRole("heading", { level: 1 })).toHaveText(`Hello, ${name}`);
  await expect(newcomer.getByText("You joined as responder in First line.")).toBeVisible();
  await expectAccessible(newcomer);

  // The link worked once.
  const again = await (await browser.newContext()).newPage();
  const response = await again.goto(link);
  expect(response?.status()).toBe(410);
  await expect(again.getByRole("heading", { level: 1 })).toHaveText("This invitation has been used");

  // The admin sees them among everyone, in their team.
  await page.goto("/admin/people");
  const row = page.locator(`[data-person="${email}"]`);
  await expect(row).toContainText(name);
  await expect(row).toContainText("First line");
  await expect(row).toContainText("active");
  await context.close();
});
