// The profile's contact methods and notification rules on a phone, without JavaScript needed:
// a wrong webhook URL is refused next to its field with what was typed kept, a rule is added
// and removed (the defaults are shown when there is none), every button is a 44 px tap
// target, and axe passes.
import { expect, expectAccessible, loginAsAdmin, test } from "./helpers";

test.use({ viewport: { width: 390, height: 844 } });

test("contact methods and rules on the profile", async ({ page }) => {
  await loginAsAdmin(page, "/profile");
  await expect(page.getByRole("heading", { name: "Contact methods" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Notification rules" })).toBeVisible();
  await expect(page.getByText(/High urgency: using the defaults: Email \(.+\) at once/)).toBeVisible();

  // SMS: offered only when the server has an SMS provider.
  const phone = page.getByLabel(/Add a phone number for SMS/);
  if (await phone.count()) {
    await phone.fill("0151 2345");
    await page.getByRole("button", { name: "Add phone number" }).click();
    await expect(page.locator("#phone-error")).toContainText("Enter the number with its country code");
    await expect(page.getByLabel(/Add a phone number for SMS/)).toHaveValue("0151 2345");
  } else {
    await expect(page.getByText("SMS is not set up on this server.")).toBeVisible();
  }

  // A chat webhook URL that is not http(s): refused next to the field, kept.
  await page.getByLabel(/Add a chat webhook/).fill("ftp://chat.example.org/hook");
  await page.getByRole("button", { name: "Add chat webhook" }).click();
  await expect(page.locator("#chat-error")).toHaveText("The URL starts with https:// (or http://).");
  await expect(page.getByLabel(/Add a chat webhook/)).toHaveValue("ftp://chat.example.org/hook");

  // A rule: a bad delay names the field; a good one is listed, then removed.
  await page.locator("#rule_urgency").selectOption("high");
  await page.locator("#rule_delay").fill("two");
  await page.getByRole("button", { name: "Add rule" }).click();
  await expect(page.locator("#rule-delay-error")).toContainText("Enter the delay as whole minutes");
  await page.locator("#rule_delay").fill("3");
  await page.getByRole("button", { name: "Add rule" }).click();
  await expect(page.getByText(/High urgency: Email \(.+\) after 3 min/)).toBeVisible();
  await expectAccessible(page);

  // Tap targets: every button in the two sections is at least 44 px tall.
  for (const b of await page.locator("section[aria-labelledby=contacts] button, section[aria-labelledby=rules] button").all()) {
    const box = await b.boundingBox();
    expect(box?.height ?? 0, await b.innerText()).toBeGreaterThanOrEqual(44);
  }

  await page.getByRole("button", { name: "Remove this rule" }).click();
  await expect(page.getByText(/High urgency: using the defaults/)).toBeVisible();
});
