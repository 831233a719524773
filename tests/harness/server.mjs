// A small static file server for the page: correct MIME types, and the COOP/COEP headers that keep
// cross-origin isolation (and so wasm threads) possible. Used by `./build.sh serve` and the browser tests.
//   node tests/harness/server.mjs [--port 8080] [--root .]
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.safetensors': 'application/octet-stream',
  '.arpa': 'text/plain; charset=utf-8',
};

export const HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-cache',
};

/** Starts serving `root`; resolves to the http.Server once listening. Port 0 picks a free port. */
export function serve({ root = '.', port = 8080, host = '127.0.0.1', quiet = true } = {}) {
  const base = path.resolve(root);
  const server = http.createServer((req, res) => {
    let rel;
    try {
      rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      res.writeHead(400).end('bad request');
      return;
    }
    let file = path.join(base, rel);
    const inside = path.relative(base, file);
    if (inside.startsWith('..') || path.isAbsolute(inside)) { res.writeHead(403).end('forbidden'); return; }
    if (rel.endsWith('/')) file = path.join(file, 'index.html');
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...HEADERS }).end('not found');
        if (!quiet) console.log(404, rel);
        return;
      }
      const type = MIME[path.extname(file).toLowerCase()] || 'application/octet-stream';
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': st.size, ...HEADERS });
      if (req.method === 'HEAD') { res.end(); return; }
      fs.createReadStream(file).pipe(res);
      if (!quiet) console.log(200, rel);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : dflt;
  };
  const port = Number(arg('--port', process.env.PORT || 8080));
  const root = arg('--root', '.');
  serve({ root, port, quiet: false }).then(() => {
    console.log(`LM Playground: http://127.0.0.1:${port}/  (serving ${path.resolve(root)}; Ctrl-C to stop)`);
  }, (e) => {
    console.error(`cannot serve on port ${port}: ${e.message}`);
    process.exit(1);
  });
}
