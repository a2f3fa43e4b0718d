/**
 * Browser tests: Debian's chromium (never a downloaded browser) against a real `jupyter lab`
 * server started here, on a scratch copy of examples/ so the notebooks in the repo stay untouched.
 */
import { defineConfig } from '@playwright/test';
import * as path from 'path';

const PORT = Number(process.env.INTERSHAP_UI_PORT ?? 8899);
const repo = path.resolve(__dirname, '..');

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  timeout: 240_000,
  expect: { timeout: 60_000 },
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    viewport: { width: 1400, height: 1000 },
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync'
      ]
    },
    trace: 'off'
  },
  webServer: {
    command: `bash ${path.join(repo, 'ui-tests', 'start-lab.sh')} ${PORT}`,
    url: `http://127.0.0.1:${PORT}/lab`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'ignore'
  }
});
