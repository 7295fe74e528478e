#!/usr/bin/env node
// Compares two id files (one JSON array per line, as encode.mjs writes them) document by document:
//
//   node tests/tokenizer_oracle/compare.mjs --corpus CORPUS.jsonl A.jsonl B.jsonl
//        [--tokenizer PATH] [--names A,B] [--max N] [--skip-docs LIST]
//
// Prints "A vs B: n/N documents identical" and, for each differing document (at most N, default 20), the
// first differing token, ids and token strings on both sides (from PATH: a tokenizer.json directory or a
// tiktoken tokenizer.model) and the text around it. --skip-docs 3,17,... leaves those documents out.
// Exit 0 when all compared documents are identical, 1 otherwise (2 usage). Needs no npm package.
import fs from 'node:fs';
import path from 'node:path';
import { runMain, parseArgs, readCorpus, readJsonl, compareIds, formatComparison, EXIT_USAGE,
  byteLevelTokenToBytes, llama3SpecialTokens } from './lib.mjs';

function tokenTools(p) {
  if (!p) return {};
  const isDir = fs.statSync(p).isDirectory();
  const model = isDir ? path.join(p, 'tokenizer.model') : p;
  if (!isDir || (fs.existsSync(model) && !fs.existsSync(path.join(p, 'tokenizer.json')))) {
    // tiktoken file: "base64 rank" per line
    const byId = new Map();
    for (const line of fs.readFileSync(model, 'utf8').split('\n')) {
      if (!line) continue;
      const [b64, rank] = line.split(' ');
      byId.set(Number(rank), Buffer.from(b64, 'base64'));
    }
    for (const [name, id] of Object.entries(llama3SpecialTokens())) byId.set(id, Buffer.from(name));
    const tokenStr = (id) => (byId.has(id) ? byId.get(id).toString('utf8') : `#${id}`);
    const decode = (ids) => Buffer.concat(ids.map((id) => byId.get(id) || Buffer.alloc(0))).toString('utf8');
    return { tokenStr, decode };
  }
  const json = JSON.parse(fs.readFileSync(path.join(p, 'tokenizer.json'), 'utf8'));
  const byId = new Map();
  for (const [t, id] of Object.entries(json.model.vocab)) byId.set(id, t);
  const special = new Set();
  for (const a of json.added_tokens || []) { byId.set(a.id, a.content); special.add(a.id); }
  const tokenStr = (id) => (byId.has(id) ? byId.get(id) : `#${id}`);
  const byteLevel = JSON.stringify(json.pre_tokenizer || '').includes('ByteLevel');
  // approximate decode, enough to locate the characters where two encodings part
  const decode = (ids) => {
    const parts = [];
    for (const id of ids) {
      const t = byId.get(id) ?? '';
      if (special.has(id)) parts.push(Buffer.from(t));
      else if (byteLevel) parts.push(byteLevelTokenToBytes(t) || Buffer.from(t));
      else if (/^<0x[0-9A-F]{2}>$/.test(t)) parts.push(Buffer.from([parseInt(t.slice(3, 5), 16)]));
      else parts.push(Buffer.from(t.replace(/▁/g, ' ')));
    }
    let s = Buffer.concat(parts).toString('utf8');
    if (!byteLevel && s.startsWith(' ')) s = s.slice(1); // the Prepend("▁") of Llama/Mistral files
    return s;
  };
  return { tokenStr, decode };
}

async function main() {
  let args;
  try { args = parseArgs(process.argv.slice(2)); } catch (e) { console.error(e.message); return EXIT_USAGE; }
  if (args._.length !== 2) {
    console.error('usage: node compare.mjs [--corpus CORPUS.jsonl] A.jsonl B.jsonl [--tokenizer PATH] [--names A,B] [--max N] [--skip-docs LIST]');
    return EXIT_USAGE;
  }
  const [fa, fb] = args._;
  const A = readJsonl(fa), B = readJsonl(fb);
  const texts = args.corpus ? readCorpus(args.corpus) : null;
  const skip = new Set((args['skip-docs'] || '').split(',').filter(Boolean).map(Number));
  const keep = (arr) => arr.map((x, i) => (skip.has(i) ? [] : x));
  const { tokenStr, decode } = tokenTools(args.tokenizer);
  const [na, nb] = (args.names || `${path.basename(fa)},${path.basename(fb)}`).split(',');
  if (A.length !== B.length) console.log(`note: ${na} has ${A.length} documents, ${nb} has ${B.length}`);
  const cmp = compareIds(texts, keep(A), keep(B), { decodeA: decode, tokenStr, maxReport: Number(args.max || 20) });
  console.log(formatComparison(na, nb, cmp) + (skip.size ? ` (${skip.size} documents skipped)` : ''));
  if (cmp.differing.length) console.log(`differing documents: ${cmp.differing.map((r) => r.doc).join(',')}`);
  return cmp.differing.length ? 1 : 0;
}

runMain(main);
