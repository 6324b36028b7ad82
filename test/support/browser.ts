import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium, which the project's setup installs (`AIRLOCK_CHROMIUM` overrides). */
export function chromiumPath(): string {
  const path = process.env.AIRLOCK_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(path))
    throw new Error(
      `No Chromium at ${path}: run \`node scripts/bootstrap.js\` (installs Debian's chromium) or set AIRLOCK_CHROMIUM.`,
    );
  return path;
}

/**
 * Headless Chromium as this machine allows it: no sandbox (root), and none of the background connections a closed
 * network refuses.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** One approver at their own browser: a context of their own and a passkey authenticator in it. */
export interface ApproverBrowser {
  context: BrowserContext;
  page: Page;
  /** The CDP virtual authenticator's id, to read its credentials. */
  authenticatorId: string;
  credentials(): Promise<{ credentialId: string; signCount: number }[]>;
}

/**
 * A browser context with a CDP virtual authenticator standing in for a platform passkey: resident keys, user
 * verification that succeeds, and presence simulated (no touch needed).
 */
export async function approverBrowser(browser: Browser): Promise<ApproverBrowser> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    context,
    page,
    authenticatorId,
    credentials: async () =>
      (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials.map((c) => ({
        credentialId: c.credentialId,
        signCount: c.signCount,
      })),
  };
}
