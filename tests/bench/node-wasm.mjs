// Runs one benchmark case in node on a wasm package: node tests/bench/node-wasm.mjs PKG NAME ARGS_JSON.
// run.mjs spawns it for the relaxed-SIMD module, which needs `--experimental-wasm-relaxed-simd` in node 20.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const [pkg, name, args] = process.argv.slice(2);
const mod = await import(path.join(ROOT, 'www', pkg, 'lmplay.js'));
await mod.default({ module_or_path: fs.readFileSync(path.join(ROOT, 'www', pkg, 'lmplay_bg.wasm')) });
process.stdout.write(JSON.stringify(mod.bench(name, args)));
