// Plays an HLS or DASH URL with Shaka Player in headless Chromium, from a
// page on another origin (so CORS is exercised), and prints what the
// <video> element did.
//
//   node play-shaka.mjs <playlist or MPD URL> [seconds]
//
// Prints one JSON line like play-hls.mjs; errors are
// "category:code:true" for errors Shaka could not recover from
// (CRITICAL) and ":false" for the others ("1:1001 404 <url>:true" for a
// bad HTTP status).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { watch } from './watch.mjs';

const [src, seconds = '8'] = process.argv.slice(2);
if (!src) {
  console.error('usage: node play-shaka.mjs <playlist or MPD URL> [seconds]');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const shakaJs = await readFile(join(here, 'node_modules/shaka-player/dist/shaka-player.compiled.js'));
const page = `<!doctype html><html><body>
<video id="v" muted autoplay playsinline></video>
<script src="/shaka-player.compiled.js"></script>
<script>
  window.playerErrors = [];
  // A bad HTTP status (1001) also names the status and the URL.
  const detail = (error) => error.code === 1001 ? ' ' + error.data[1] + ' ' + error.data[0] : '';
  const record = (error) => window.playerErrors.push(
    error.category + ':' + error.code + detail(error) + ':' +
    (error.severity === shaka.util.Error.Severity.CRITICAL));
  shaka.polyfill.installAll();
  const video = document.getElementById('v');
  const player = new shaka.Player();
  player.addEventListener('error', (event) => record(event.detail));
  player.attach(video)
    .then(() => player.load(${JSON.stringify(src)}))
    .then(() => video.play())
    .catch(record);
</script></body></html>`;

const report = await watch(page, { '/shaka-player.compiled.js': ['text/javascript', shakaJs] }, seconds);
console.log(JSON.stringify(report));
