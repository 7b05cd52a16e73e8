import type { Page } from 'playwright-core';

/**
 * Records what a page reports as wrong into `problems`: console errors and warnings, page errors, and
 * failed responses with their method and path. One failure is expected and skipped while
 * `isStopping()` holds: on stop() the official client POSTs its Close message without waiting while
 * it closes the event stream, so that POST can reach the server after the connection is gone and get
 * 404, as it would from ASP.NET Core.
 */
export function recordPageProblems(page: Page, problems: string[], isStopping: () => boolean): void {
  page.on('console', (message) => {
    // Failed loads are reported, with their URL, by the response listener below.
    if (message.text().startsWith('Failed to load resource: the server responded with a status of')) return;
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() < 400) return;
    const url = new URL(response.url());
    const failure = `${response.status()} ${response.request().method()} ${url.pathname}`;
    if (isStopping() && failure === `404 POST ${url.pathname}` && url.pathname.startsWith('/hubs/')) return;
    problems.push(`response: ${failure}`);
  });
}
