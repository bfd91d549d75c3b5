// Playwright runs Firstline's release binary on a fresh temporary SQLite database with the demo
// data, and drives Debian's Chromium (never a downloaded browser) on a desktop and a phone.
// Mail goes to a local sink (sinks.mjs) the tests read back; push.spec.ts runs its own push
// service on 127.0.0.1.
import { defineConfig, devices } from "@playwright/test";

// Ports and the binary can be moved (E2E_PORT, E2E_SINK_PORT, E2E_BIN) so a second checkout can
// run the suite beside this one, e.g. against a debug build.
const PORT = Number(process.env.E2E_PORT || 3197);
const BIN = process.env.E2E_BIN || "../target/release/firstline";
export const BASE_URL = `http://127.0.0.1:${PORT}`;
export const ADMIN_EMAIL = "aisha@crates-volunteers.example";
export const ADMIN_PASSWORD = "e2e demo password";
export const SINK_SMTP_PORT = Number(process.env.E2E_SINK_PORT || 3525);
export const SINK_HTTP_PORT = SINK_SMTP_PORT + 1;
/// The mail sink's HTTP side: `GET /mails`.
export const SINK_URL = `http://127.0.0.1:${SINK_HTTP_PORT}`;

const chromium = {
  executablePath: "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
};

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL: BASE_URL,
    launchOptions: chromium,
    trace: "retain-on-failure",
  },
  projects: [
    {
      name: "desktop",
      use: { ...devices["Desktop Chrome"], channel: undefined, launchOptions: chromium },
    },
    {
      name: "phone",
      use: { ...devices["Pixel 7"], launchOptions: chromium },
    },
  ],
  webServer: [
    {
      command: "node sinks.mjs",
      url: `${SINK_URL}/ready`,
      reuseExistingServer: false,
      timeout: 10_000,
      stdout: "ignore",
      stderr: "pipe",
      env: { SINK_SMTP_PORT: String(SINK_SMTP_PORT), SINK_HTTP_PORT: String(SINK_HTTP_PORT) },
    },
    {
      command:
        'd="$(mktemp -d)" && FIRSTLINE_DATABASE_URL="sqlite://$d/e2e.db" exec "$E2E_BIN" demo',
      url: `${BASE_URL}/readyz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "ignore",
      stderr: "pipe",
      env: {
        E2E_BIN: BIN,
        FIRSTLINE_LISTEN: `127.0.0.1:${PORT}`,
        FIRSTLINE_DEMO_PASSWORD: ADMIN_PASSWORD,
        FIRSTLINE_SMTP_URL: `smtp://127.0.0.1:${SINK_SMTP_PORT}`,
        FIRSTLINE_MAIL_FROM: "Firstline <pager@firstline.test>",
        // push.spec.ts's push service is on this machine.
        FIRSTLINE_OUTBOUND_ALLOW: "127.0.0.1",
        RUST_LOG: "warn",
      },
    },
  ],
});
