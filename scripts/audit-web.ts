/**
 * `npm run audit:web [-- URL]`: Lighthouse 12.2.3 (13 needs Node 22) against the goals page, as
 * a phone (the default, throttled) and as a desktop, printing the four category scores. With no
 * URL it audits http://localhost:3000 when `npm start` is running there, and otherwise starts a
 * throwaway stack of its own (same runner, temporary data), signs up, seeds a few goals, and stops it after.
 * HTML reports go to test-results/lighthouse/ (not committed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@goal-tracker/test-support/free-port';
import * as chromeLauncher from 'chrome-launcher';
import lighthouse from 'lighthouse';
import { chromium } from 'playwright-core';
import desktopConfig from 'lighthouse/core/config/desktop-config.js';
import { REPOSITORY_ROOT } from '@goal-tracker/test-support/repository-root';

const CATEGORIES = ['performance', 'accessibility', 'best-practices', 'seo'] as const;
const REPORT_DIR = join(REPOSITORY_ROOT, 'test-results', 'lighthouse');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SEED = [
  'Run 5 km without stopping',
  'Read one book a month',
  'Learn to bake sourdough bread',
  'Call grandma every Sunday',
  'Plan a weekend trip to the coast',
];

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}

/** `npm start`'s own runner on free ports with a temporary embedded database. */
async function startThrowawayStack(): Promise<{
  url: string;
  /** The session token of the account it made. */
  token: string;
  stop(): Promise<void>;
}> {
  const [apiPort, webPort] = [await freePort(), await freePort()];
  const dataRoot = await mkdtemp(join(tmpdir(), 'goal-tracker-audit-'));
  await chmod(dataRoot, 0o755);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    API_PORT: String(apiPort),
    WEB_PORT: String(webPort),
    DATA_DIR: join(dataRoot, 'data'),
    LOG_LEVEL: 'warn',
  };
  delete env.DATABASE_URL;
  console.log('No stack at http://localhost:3000; starting a throwaway one…');
  const child: ChildProcess = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', 'scripts/local-stack/start.ts'],
    {
      cwd: REPOSITORY_ROOT,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${webPort}`;
  const deadline = Date.now() + 180_000;
  while (
    !(await answers(`${url}/health`)) ||
    !(await answers(`http://127.0.0.1:${apiPort}/ready`))
  ) {
    if (child.exitCode !== null) throw new Error('the stack did not start');
    if (Date.now() > deadline) throw new Error('the stack did not start in 3 minutes');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const signedUp = await fetch(`${url}/api/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'audit@example.com', password: 'a long audit password' }),
  });
  const { token } = (await signedUp.json()) as { token: string };
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  for (const [index, name] of SEED.entries()) {
    const response = await fetch(`${url}/api/goals`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name }),
    });
    const goal = (await response.json()) as { id: number };
    if (index < 2) {
      await fetch(`${url}/api/goals/${goal.id}`, {
        method: 'PATCH',
        headers,
        body: JSON.stringify({ done: true }),
      });
    }
  }
  return {
    url: `${url}/`,
    token,
    async stop() {
      child.kill('SIGINT');
      await exited;
      await rm(dataRoot, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  const given = process.argv[2] ?? process.env.AUDIT_URL;
  const running = !given && (await answers('http://localhost:3000/health'));
  const stack = given || running ? undefined : await startThrowawayStack();
  const url = given ?? (running ? 'http://localhost:3000/' : stack!.url);

  const chrome = await chromeLauncher.launch({
    chromePath: CHROMIUM,
    // As root Chromium needs --no-sandbox; the rest keep it from reaching for the internet.
    chromeFlags: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  const rows: string[] = [];
  try {
    // The throwaway stack's account, so the goals page is audited; a running stack or a given
    // URL is audited as a signed-out visitor sees it (the sign-in page). A cookie in the
    // browser, not a header Lighthouse adds: the page's event stream must carry it too.
    if (stack) {
      const browser = await chromium.connectOverCDP(`http://127.0.0.1:${chrome.port}`);
      await browser.contexts()[0]!.addCookies([{ name: 'session', value: stack.token, url }]);
      await browser.close();
    }
    mkdirSync(REPORT_DIR, { recursive: true });
    for (const [device, config] of [
      ['mobile', undefined],
      ['desktop', desktopConfig],
    ] as const) {
      const result = await lighthouse(
        url,
        {
          port: chrome.port,
          output: 'html',
          logLevel: 'error',
          onlyCategories: [...CATEGORIES],
          // Lighthouse would otherwise clear the origin's storage, the session cookie included.
          disableStorageReset: stack !== undefined,
        },
        config,
      );
      if (!result) throw new Error('Lighthouse returned no result');
      const report = Array.isArray(result.report) ? result.report.join('') : result.report;
      writeFileSync(join(REPORT_DIR, `${device}.html`), report);
      const scores = CATEGORIES.map((category) => {
        const score = result.lhr.categories[category]?.score;
        return (
          score === null || score === undefined ? '–' : String(Math.round(score * 100))
        ).padStart(category.length);
      });
      rows.push(`${device.padEnd(8)} ${scores.join('  ')}`);
    }
  } finally {
    chrome.kill();
    await stack?.stop();
  }
  console.log(`\nLighthouse 12.2.3 on ${url}`);
  console.log(`${''.padEnd(8)} ${CATEGORIES.join('  ')}`);
  for (const row of rows) console.log(row);
  console.log(`Reports: ${join('test-results', 'lighthouse')}/{mobile,desktop}.html`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
