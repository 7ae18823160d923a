// Plays an HLS URL with hls.js in headless Chromium, from a page on another
// origin (so CORS is exercised), and prints what the <video> element did.
//
//   node play-hls.mjs <playlist URL> [seconds]
//
// Prints one JSON line: {"samples": [[currentTime, videoWidth], ...],
// "errors": ["type:details:fatal", ...]}. Exits 0 unless the browser could
// not be driven; judging playback is the caller's job.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';

const [src, seconds = '8'] = process.argv.slice(2);
if (!src) {
  console.error('usage: node play-hls.mjs <playlist URL> [seconds]');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const hlsJs = await readFile(join(here, 'node_modules/hls.js/dist/hls.min.js'));
const page = `<!doctype html><html><body>
<video id="v" muted autoplay playsinline></video>
<script src="/hls.min.js"></script>
<script>
  window.playerErrors = [];
  const video = document.getElementById('v');
  const hls = new Hls();
  hls.on(Hls.Events.ERROR, (_, e) => window.playerErrors.push(e.type + ':' + e.details + ':' + e.fatal));
  hls.on(Hls.Events.MANIFEST_PARSED, () => video.play());
  hls.loadSource(${JSON.stringify(src)});
  hls.attachMedia(video);
</script></body></html>`;

const server = createServer((request, response) => {
  if (request.url === '/hls.min.js') {
    response.writeHead(200, { 'content-type': 'text/javascript' });
    response.end(hlsJs);
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
  const tab = await browser.newPage();
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
  console.log(JSON.stringify({ samples, errors }));
} finally {
  await browser.close();
  server.close();
}
