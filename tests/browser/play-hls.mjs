// Plays an HLS URL with hls.js in headless Chromium, from a page on another
// origin (so CORS is exercised), and prints what the <video> element did.
//
//   node play-hls.mjs <playlist URL> [seconds]
//
// Prints one JSON line: {"samples": [[currentTime, videoWidth], ...],
// "errors": ["type:details:fatal", ...]}. Exits 0 unless the browser could
// not be driven; judging playback is the caller's job.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { watch } from './watch.mjs';

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

const report = await watch(page, { '/hls.min.js': ['text/javascript', hlsJs] }, seconds);
console.log(JSON.stringify(report));
