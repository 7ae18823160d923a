// Shared by the players' scripts: serves a page (and the player's script)
// from a local origin that is not nova-live's, so CORS is exercised, opens
// it in headless Chromium and samples what the <video> element does.
import { createServer } from 'node:http';
import { chromium } from 'playwright-core';

// `page` is the HTML; `assets` maps a path to [content type, bytes].
// Resolves to {samples: [[currentTime, videoWidth], ...], errors: [...],
// protocols: [...]}, the page reporting its player's errors in
// `window.playerErrors`; `protocols` are the HTTP versions ("http/1.1",
// "h2") the player's requests to other origins went over. Certificates are
// not checked: tests serve HTTPS with a self-signed one.
export async function watch(page, assets, seconds) {
  const server = createServer((request, response) => {
    const asset = assets[request.url];
    if (asset) {
      response.writeHead(200, { 'content-type': asset[0] });
      response.end(asset[1]);
    } else {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end(page);
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;

  // Without the background-networking flags Chromium keeps dialling Google
  // hosts, which this closed network refuses.
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const tab = await context.newPage();
    // Only the DevTools protocol tells which HTTP version a response came over.
    const protocols = new Set();
    const devtools = await context.newCDPSession(tab);
    devtools.on('Network.responseReceived', ({ response }) => {
      if (!response.url.startsWith(origin)) protocols.add(response.protocol);
    });
    await devtools.send('Network.enable');
    await tab.goto(origin);
    const samples = [];
    for (let i = 0; i < Number(seconds); i++) {
      await tab.waitForTimeout(1000);
      samples.push(await tab.evaluate(() => {
        const video = document.getElementById('v');
        return [video.currentTime, video.videoWidth];
      }));
    }
    const errors = await tab.evaluate(() => window.playerErrors);
    return { samples, errors, protocols: [...protocols] };
  } finally {
    await browser.close();
    server.close();
  }
}
