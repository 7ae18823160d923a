// Plays a DASH MPD URL with dash.js in headless Chromium, from a page on
// another origin (so CORS is exercised), and prints what the <video>
// element did.
//
//   node play-dash.mjs <MPD URL> [seconds]
//
// Prints one JSON line like play-hls.mjs; errors are "code:message:true"
// (dash.js reports only errors it cannot recover from).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { watch } from './watch.mjs';

const [src, seconds = '8'] = process.argv.slice(2);
if (!src) {
  console.error('usage: node play-dash.mjs <MPD URL> [seconds]');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const dashJs = await readFile(join(here, 'node_modules/dashjs/dist/modern/umd/dash.all.min.js'));
const page = `<!doctype html><html><body>
<video id="v" muted autoplay playsinline></video>
<script src="/dash.all.min.js"></script>
<script>
  window.playerErrors = [];
  const video = document.getElementById('v');
  const player = dashjs.MediaPlayer().create();
  player.on(dashjs.MediaPlayer.events.ERROR, (e) => {
    const error = e.error || {};
    window.playerErrors.push(error.code + ':' + error.message + ':true');
  });
  player.initialize(video, ${JSON.stringify(src)}, true);
</script></body></html>`;

const report = await watch(page, { '/dash.all.min.js': ['text/javascript', dashJs] }, seconds);
console.log(JSON.stringify(report));
