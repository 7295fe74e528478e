#!/usr/bin/env node
// Deterministic, varied UTF-8 test corpus for the tokenizer tests, written as JSONL ({"text": ...} per line):
//
//   node tests/tokenizer_oracle/make_corpus.mjs OUT_FILE [WIKITEXT_FILE]
//
// 300 documents, >= 120,000 characters, from a seeded PRNG (no clock, no Math.random): the same arguments
// give the same bytes on every machine. The English prose documents are cut from the first ~40,000
// characters of WIKITEXT_FILE when it is given (the C++ tests pass shared/data/wikitext2/wiki.test.raw),
// otherwise generated from a built-in sentence bank; every other document does not depend on it.
// Also writes OUT_FILE.meta.json: the kind of each document and the totals.
import fs from 'node:fs';
import { runMain, EXIT_USAGE } from './lib.mjs';

// ---- seeded PRNG (mulberry32 over a FNV-1a hash of a stream name) ---------------------------------
function fnv1a(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h >>> 0;
}
function rng(name) {
  let a = fnv1a('ptqbench-tokenizer-corpus-v1/' + name);
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r = {
    f: next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)), // inclusive
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    chance: (p) => next() < p,
    shuffle: (arr) => { for (let i = arr.length - 1; i > 0; i--) { const j = Math.floor(next() * (i + 1)); [arr[i], arr[j]] = [arr[j], arr[i]]; } return arr; },
    digits: (n) => { let s = ''; for (let i = 0; i < n; i++) s += String(Math.floor(next() * 10)); return s; },
  };
  return r;
}

// ---- content banks ------------------------------------------------------------------------------------
const ENGLISH = [
  'The quick brown fox jumps over the lazy dog.',
  'Quantization maps floating-point weights to a small set of integers, trading accuracy for memory.',
  'In 1969, Apollo 11 landed on the Moon; Neil Armstrong stepped out first.',
  'She sells sea shells by the sea shore, and the shells she sells are surely seashells.',
  'A tokenizer splits text into pieces that a language model can look up in its vocabulary.',
  'Perplexity is the exponential of the average negative log-likelihood per token.',
  'He said, "Don\'t touch that!" and then walked away without another word.',
  'The committee, after a long debate (lasting nearly six hours), approved the budget.',
  'Rain fell steadily over the valley while the river rose to its highest level in decades.',
  'Mr. Smith, Dr. Jones and Prof. Lee met at 10:30 a.m. on Jan. 5th.',
  'Wait... what? No -- that can\'t be right!',
  'The results were mixed: 3 of 7 runs improved, 2 regressed, and the rest stayed flat.',
  'E-mail us at info@example.com or visit https://example.org/docs/index.html?lang=en#intro.',
  'Large language models are trained on trillions of tokens drawn from the web, books and code.',
  'Grouped-query attention shares each key/value head among several query heads.',
  'Well-known, state-of-the-art, and off-the-shelf are hyphenated compound adjectives.',
  'The cat sat on the mat; the dog sat on the log.',
  'Is it "GPTQ" or "AWQ"? Both are post-training quantization methods.',
  'Ladies and gentlemen, boys and girls: welcome to the greatest show on Earth!',
  'Once upon a time, in a kingdom far, far away, there lived a curious little robot.',
];
const WORDS = ('time person year way day thing man world life hand part child eye woman place work week case point ' +
  'government company number group problem fact model token weight layer matrix vector scale error bound ' +
  'quickly slowly never always often rarely carefully precisely roughly nearly').split(' ');

const CHINESE = [
  '今天天气很好，我们去公园散步吧。',
  '机器学习模型的量化可以显著减少内存占用。',
  '北京是中华人民共和国的首都，也是全国的政治、文化中心。',
  '他说：“这本书非常有意思！”',
  '深度学习（Deep Learning）是人工智能的一个分支。',
  '大语言模型通常包含数十亿个参数，推理时需要大量显存。',
  '春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。',
  '请把这段文字翻译成英文，并保留原来的格式。',
  '繁體中文與簡體中文在字形上有所不同，例如「國」與「国」。',
];
const JAPANESE = [
  '今日はいい天気ですね。',
  '私は東京に住んでいます。',
  'コンピューターはとても便利です。',
  '「こんにちは」と彼女は言った。',
  'ひらがな、カタカナ、そして漢字を混ぜて書きます。',
  'ｶﾀｶﾅ半角もテストします。ｱｲｳｴｵ',
  '量子化されたモデルは、メモリ使用量が少なくなります。',
  '吾輩は猫である。名前はまだ無い。',
];
const KOREAN = [
  '안녕하세요, 만나서 반갑습니다.',
  '한국어는 한글로 씁니다.',
  '대한민국의 수도는 서울입니다.',
  '양자화된 모델은 더 빠르게 실행됩니다.',
  '오늘 저녁에 뭐 먹을까요? 김치찌개 어때요?',
];
const ARABIC = [
  'مرحبا بالعالم',
  'اللغة العربية جميلة جداً.',
  'السَّلَامُ عَلَيْكُمْ وَرَحْمَةُ اللهِ',
  'الأرقام العربية: ٠١٢٣٤٥٦٧٨٩ و ١٢٣٤',
  'هذا نص تجريبي لاختبار المقسم، هل يعمل؟',
];
const HEBREW = ['שלום עולם', 'עִבְרִית עִם נִקּוּד', 'ירושלים היא עיר עתיקה.', 'מה שלומך היום?'];
const CYRILLIC = [
  'Привет, мир! Как дела?',
  'Съешь же ещё этих мягких французских булок, да выпей чаю.',
  'Українська мова: ґанок, їжак, єнот.',
  'Москва — столица России. ВЕРХНИЙ РЕГИСТР и нижний регистр.',
  'Ёлка, йогурт, подъезд.',
];
const GREEK = [
  'Καλημέρα κόσμε',
  'Ελληνικά: άλφα, βήτα, γάμμα, δέλτα.',
  'ΑΒΓΔ αβγδ ς σ Σ',
  'Ἐν ἀρχῇ ἦν ὁ λόγος, καὶ ὁ λόγος ἦν πρὸς τὸν θεόν.',
  'Τι κάνεις;', // ends with U+003B
];
const DEVANAGARI = [
  'नमस्ते दुनिया',
  'हिन्दी भाषा बहुत सुंदर है।',
  'संस्कृतम् एका प्राचीना भाषा अस्ति।',
  'अंक: १२३४५६७८९०',
];
const THAI = ['สวัสดีครับ ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ', 'กรุงเทพมหานคร'];
const LATIN_ACCENTED = [
  'café, naïve, résumé, façade, coöperate, jalapeño, über, Straße',
  'Ångström, Øresund, Žižek, Ærø, Łódź, İstanbul, ıi, Đặng',
  'Tiếng Việt có nhiều dấu thanh: à á ả ã ạ, ầ ấ ẩ ẫ ậ.',
  'Crème brûlée à la française, s\'il vous plaît.',
  'Ça va? Où êtes-vous? Señor Muñoz está aquí. Ålborg, København, Málaga.',
  'Dvořák, Škoda, Čapek, Ďáblice, Ňuňo; Gödel, Schrödinger, Hölder; Ğ ş Ş ç.',
];
// canonical-equivalence cases an NFC normalizer changes (or must not change)
const NFC_SPECIALS = [
  '\u212B (ANGSTROM SIGN) vs \u00C5', '\u2126 (OHM SIGN) vs \u03A9', '\u212A (KELVIN SIGN) vs K',
  'Greek question mark\u037E and ano teleia\u0387', 'ﬁ ﬂ ligatures stay (NFC is not NFKC)', '① Ⅻ ＡＢＣ１２３ stay',
  'क़ ख़ ग़ ज़ ड़ ढ़ फ़ य़ (composition exclusions)', 'e\u0301\u0301 double accent', 'a\u0328\u0301 ogonek+acute',
  '\u1E9B\u0323 long s with dot', 'Å\u0301', 'q\u0307\u0323',
];
const EMOJI = [
  '😀😃😄😁😆', '👍🏻👍🏼👍🏽👍🏾👍🏿', '👨‍👩‍👧‍👦', '👩🏽‍💻', '🏳️‍🌈', '🏴‍☠️', '🇺🇸🇩🇪🇯🇵🇫🇷',
  '1️⃣ #️⃣ *️⃣', '❤️ ♥ ☺️ ✌️', '🦙🤖🧠🔥', '🏴󠁧󠁢󠁳󠁣󠁴󠁿', '🧑‍🤝‍🧑', '👁️‍🗨️', '🙂', '©️ ®️ ™️', '🐈‍⬛',
];
const SPECIAL_STRINGS = ['<s>', '</s>', '<unk>', '<|begin_of_text|>', '<|end_of_text|>', '<|endoftext|>', '<|im_start|>',
  '<|im_end|>', '<|eot_id|>', '<|start_header_id|>', '<|end_header_id|>', '<think>', '</think>', '<tool_call>',
  '<|reserved_special_token_5|>', '<|fim_prefix|>', '<|python_tag|>', '<|eom_id|>'];
const NEAR_MISSES = ['< s>', '<s >', '<S>', '<|eot_id>', '<|EOT_ID|>', '<<s>>', '<|begin_of_text|', '|>', '<|', '<|im_start |>', '</s', '<s/>'];

// ---- generators ---------------------------------------------------------------------------------------
function proseSynthetic(r) {
  const n = r.int(3, 26);
  const parts = [];
  for (let i = 0; i < n; i++) {
    if (r.chance(0.7)) parts.push(r.pick(ENGLISH));
    else {
      const k = r.int(5, 18);
      const ws = [];
      for (let j = 0; j < k; j++) ws.push(r.pick(WORDS));
      ws[0] = ws[0][0].toUpperCase() + ws[0].slice(1);
      parts.push(ws.join(' ') + r.pick(['.', '.', '!', '?', ';', ':', ',']));
    }
  }
  let s = '';
  for (const p of parts) s += (s ? r.pick([' ', ' ', ' ', '\n', '\n\n', '  ']) : '') + p;
  return s;
}

// The first ~40k chars of WikiText (up to a line end) cut into `count` pieces of varied length: a cut goes
// right after a line end when one is near, otherwise just before a space (so pieces also start with " word").
function proseFromWikitext(text, count, r) {
  let head = text.slice(0, 40000);
  const end = head.lastIndexOf('\n');
  if (end > 0) head = head.slice(0, end + 1);
  const weights = Array.from({ length: count }, () => 0.2 + 1.6 * r.f());
  const total = weights.reduce((a, b) => a + b, 0);
  const cuts = [0];
  let acc = 0;
  for (let i = 0; i < count - 1; i++) {
    acc += weights[i];
    let c = Math.round((acc / total) * head.length);
    const nl = head.indexOf('\n', c);
    if (nl >= 0 && nl - c < 150) c = nl + 1;
    else { const sp = head.indexOf(' ', c); c = sp >= 0 ? sp : c; }
    cuts.push(Math.max(c, cuts[cuts.length - 1] + 1));
  }
  cuts.push(head.length);
  const docs = [];
  for (let i = 0; i < count; i++) docs.push(head.slice(cuts[i], cuts[i + 1]));
  return docs.filter((d) => d.length > 0);
}

const IDENTS = ['x', 'y', 'idx', 'count', 'total_sum', 'maxValue', 'kBlockSize', 'scale', 'zero_point', 'q_weight',
  'hidden_states', 'attn_mask', 'tmp', 'result', 'buf', 'self', 'ctx', 'n', 'i', 'j', 'err', 'data', 'GROUP_SIZE'];
function codePython(r) {
  const ind = r.pick(['    ', '  ', '\t']);
  const f = r.pick(IDENTS), a = r.pick(IDENTS), b = r.pick(IDENTS);
  let s = `import math\nfrom typing import List, Optional\n\n\n@torch.no_grad()\ndef ${f}_fn(${a}: List[float], ${b}: Optional[int] = None, **kwargs) -> float:\n`;
  s += `${ind}"""Compute something; returns ${r.int(0, 999)}."""\n`;
  s += `${ind}if ${b} is None:\n${ind}${ind}${b} = len(${a}) // ${r.int(2, 16)}\n`;
  s += `${ind}total = 0.0\n${ind}for i, v in enumerate(${a}):\n${ind}${ind}if i % ${r.int(2, 9)} == 0 and v != 0:\n`;
  s += `${ind}${ind}${ind}total += v ** 2 / (abs(v) + 1e-${r.int(3, 9)})\n${ind}${ind}elif (n := i * 3) >= 10:\n${ind}${ind}${ind}total -= n\n`;
  s += `${ind}print(f"{total=:.4f} {${b}!r}")  # debug\n${ind}return math.sqrt(total) if total > 0 else -1.0\n`;
  if (r.chance(0.5)) s += `\n\nclass ${f[0].toUpperCase()}${f.slice(1)}(object):\n${ind}def __init__(self):\n${ind}${ind}self.d = {'a': [1, 2, 3], "b": (4, 5)}\n${ind}${ind}self.s = 'it\\'s' + "\\n\\t"\n`;
  return s;
}
function codeCpp(r) {
  const ind = r.pick(['\t', '    ', '  ']);
  const f = r.pick(IDENTS);
  let s = `#include <vector>\n#include <cstdint>\n\n/* ${r.pick(ENGLISH)} */\ntemplate <typename T>\nstatic std::vector<std::pair<int, T>> ${f}(const std::vector<T>& in, int64_t n) {\n`;
  s += `${ind}std::vector<std::pair<int, T>> out;\n${ind}out.reserve(in.size());\n`;
  s += `${ind}for (size_t i = 0; i < in.size(); ++i) {\n${ind}${ind}if (in[i] >= T(0) && (i & 0x${r.int(1, 255).toString(16)}u) != 0) {\n`;
  s += `${ind}${ind}${ind}out.emplace_back(static_cast<int>(i), in[i] * T(${r.int(1, 9)}.${r.digits(3)}));\n${ind}${ind}} else if (n <<= 1; n > 0) {\n`;
  s += `${ind}${ind}${ind}out.push_back({-1, in[i]});  // ${r.pick(WORDS)}\n${ind}${ind}}\n${ind}}\n${ind}return out;\n}\n`;
  s += `\nint main(int argc, char** argv) {\n${ind}auto v = ${f}<float>({1.f, -2.5f, 3e-3f}, argc);\n${ind}std::cout << v.size() << "\\n";\n${ind}return v.empty() ? 1 : 0;\n}\n`;
  return s;
}
function codeJs(r) {
  const ind = r.pick(['  ', '    ', '\t']);
  const f = r.pick(IDENTS);
  return `export const ${f} = async (items = [], { limit = ${r.int(1, 100)} } = {}) => {\n` +
    `${ind}const out = items?.filter((x) => x !== null && x.id >= 0) ?? [];\n` +
    `${ind}let acc = 0;\n${ind}for (const { id, value } of out) {\n${ind}${ind}acc += value ** 2;\n${ind}${ind}if (acc >>> 0 === acc) continue;\n${ind}}\n` +
    `${ind}console.log(\`total: \${acc.toFixed(2)} (\${out.length}/\${items.length})\`);\n` +
    `${ind}return acc > limit ? { ok: true, acc } : { ok: false, reason: 'too small' };\n};\n`;
}
function codeRust(r) {
  const ind = r.pick(['    ', '\t']);
  return `use std::collections::HashMap;\n\n#[derive(Debug, Clone)]\npub struct Block<'a> {\n${ind}name: &'a str,\n${ind}scales: Vec<f32>,\n}\n\n` +
    `impl<'a> Block<'a> {\n${ind}pub fn quantize(&mut self, bits: u8) -> Result<HashMap<String, i32>, Box<dyn std::error::Error>> {\n` +
    `${ind}${ind}let max = self.scales.iter().cloned().fold(f32::MIN, f32::max);\n` +
    `${ind}${ind}let q: Vec<i32> = self.scales.iter().map(|&x| ((x / max) * ((1 << (bits - 1)) as f32)).round() as i32).collect();\n` +
    `${ind}${ind}let mut m = HashMap::new();\n${ind}${ind}m.insert(self.name.to_string(), q.iter().sum::<i32>());\n${ind}${ind}Ok(m)\n${ind}}\n}\n`;
}
function codeGo(r) {
  return `package main\n\nimport (\n\t"fmt"\n\t"strings"\n)\n\nfunc main() {\n\twords := strings.Fields("${r.pick(ENGLISH)}")\n` +
    `\tcounts := map[string]int{}\n\tfor _, w := range words {\n\t\tcounts[strings.ToLower(w)]++\n\t}\n` +
    `\tif n, ok := counts["the"]; ok && n > ${r.int(0, 3)} {\n\t\tfmt.Printf("%d %v\\n", n, counts)\n\t}\n}\n`;
}
function codeShell(r) {
  return `#!/usr/bin/env bash\nset -euo pipefail\nfor f in "$@"; do\n  if [[ -f "$f" && ! -L "$f" ]]; then\n` +
    `    n=$(wc -l < "$f") && echo "$f: $n" >&2 || true\n  fi\ndone 2>&1 | tee /tmp/log_${r.int(0, 99)}.txt\n` +
    `cat <<'EOF'\n  indented heredoc with $dollar and \`backticks\`\nEOF\nexit $((RANDOM % 2))\n`;
}
function codeSql(r) {
  return `SELECT u.id, COUNT(*) AS n, AVG(o.total) AS avg_total\nFROM users u\nLEFT JOIN orders o ON o.user_id = u.id\n` +
    `WHERE u.created_at >= '2023-01-01' AND u.email LIKE '%@example.com'\nGROUP BY u.id\nHAVING COUNT(*) > ${r.int(1, 50)}\nORDER BY n DESC;\n`;
}
function codeJson(r) {
  return JSON.stringify({ model: r.pick(['llama-2-7b', 'qwen2.5-0.5b', 'mistral-7b']), bits: r.pick([2, 3, 4, 8]),
    group_size: r.pick([32, 64, 128]), ppl: Number((5 + r.f() * 3).toFixed(4)), tags: ['w4a16', 'sym'], nested: { a: null, b: true } },
  null, r.pick([2, 4, '\t'])) + '\n';
}
function codeHtml(r) {
  return `<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Test &amp; demo</title></head>\n<body>\n` +
    `  <div class="note" id="n${r.int(0, 99)}"><s>struck out</s> and <b>bold</b> &lt;tag&gt;</div>\n  <!-- comment -->\n` +
    `  <script>if (a < b && c > d) { x = "</s>"; }</script>\n</body>\n</html>\n`;
}
function codeMake(r) {
  return `CC ?= gcc\nCFLAGS := -O${r.int(0, 3)} -Wall -Wextra\n\nall: main\n\nmain: main.o util.o\n\t$(CC) $(CFLAGS) -o $@ $^\n\n%.o: %.c\n\t$(CC) $(CFLAGS) -c $< -o $@\n\n.PHONY: clean\nclean:\n\trm -f *.o main\n`;
}
function codeLatex(r) {
  return `\\begin{equation}\n  \\hat{W} = \\mathrm{round}\\left(\\frac{W}{s}\\right) + z, \\quad s = \\frac{\\max(W) - \\min(W)}{2^{b} - 1}\n\\end{equation}\n` +
    `where $b = ${r.int(2, 8)}$ and $\\|W - \\hat{W}\\|_F^2 \\le \\epsilon$.\n`;
}
function codeMarkdown(r) {
  return `# Results\n\n| method | bits | ppl |\n|--------|-----:|----:|\n| RTN    | 4    | ${(5 + r.f()).toFixed(2)} |\n| GPTQ   | 4    | ${(5 + r.f()).toFixed(2)} |\n\n` +
    `* **bold**, _italic_, \`code\`\n  - nested item\n\n\`\`\`python\nprint("hi")\n\`\`\`\n\n> quote\n`;
}
function codeDiff() {
  return `diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1,3 +1,4 @@\n int main() {\n-    return 0;\n+    int x = 1;\n+    return x - 1;\n }\n`;
}
const CODE_GENS = [codePython, codeCpp, codeJs, codeRust, codeGo, codeShell, codeSql, codeJson, codeHtml, codeMake, codeLatex, codeMarkdown, codeDiff];
function code(r, i) {
  let s = '';
  const parts = r.int(1, 6);
  for (let k = 0; k < parts; k++) s += (k ? '\n' : '') + CODE_GENS[(i + k * 5) % CODE_GENS.length](r);
  if (r.chance(0.2)) s = s.replace(/\n/g, '\r\n'); // a CRLF file
  if (r.chance(0.25)) s = s.replace(/\n/g, () => (r.chance(0.15) ? ' '.repeat(r.int(1, 4)) + '\n' : '\n')); // trailing spaces
  return s;
}

function numbers(r) {
  const items = [
    () => r.digits(r.int(4, 60)),
    () => String(r.int(1, 9)) + r.digits(r.int(80, 240)),
    () => `${r.int(1, 999)},${r.digits(3)},${r.digits(3)}.${r.digits(2)}`,
    () => `${r.int(1, 999)}.${r.digits(3)}.${r.digits(3)},${r.digits(2)}`,
    () => `${r.int(1, 99)}\u00A0${r.digits(3)}\u00A0${r.digits(3)}`,
    () => `${r.int(1, 99)}\u2009${r.digits(3)}`,
    () => `${r.int(1, 99)}_${r.digits(3)}_${r.digits(3)}`,
    () => `${r.int(1, 99)}'${r.digits(3)}'${r.digits(3)}`,
    () => `0x${r.int(0, 0xffffff).toString(16).toUpperCase()}${r.int(0, 0xffff).toString(16)}`,
    () => `0b${r.int(0, 255).toString(2)}`,
    () => `${r.int(0, 9)}.${r.digits(r.int(5, 30))}`,
    () => `${r.int(1, 9)}.${r.digits(3)}e${r.pick(['', '-', '+'])}${r.int(1, 40)}`,
    () => `-${r.int(1, 100000)}`,
    () => `+${r.int(1, 999)}`,
    () => `${2000 + r.int(0, 30)}-${String(r.int(1, 12)).padStart(2, '0')}-${String(r.int(1, 28)).padStart(2, '0')}T${r.int(10, 23)}:${r.int(10, 59)}:${r.int(10, 59)}Z`,
    () => `${r.int(1, 255)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(0, 255)}`,
    () => `$${r.int(1, 9)},${r.digits(3)}.${r.digits(2)}`,
    () => `€${r.int(1, 999)},${r.digits(2)}`,
    () => `${r.int(1, 100)}%`,
    () => '½ ¾ ² ³ ₂ ⅞',
    () => 'Ⅻ ⅩⅣ',
    () => '٠١٢٣٤٥٦٧٨٩ ۱۲۳ १२३४ ０１２３４５６７８９',
    () => `+1 (${r.digits(3)}) ${r.digits(3)}-${r.digits(4)}`,
    () => `${r.digits(4)} ${r.digits(4)} ${r.digits(4)} ${r.digits(4)}`,
    () => `v${r.int(0, 9)}.${r.int(0, 20)}.${r.int(0, 99)}-rc.${r.int(1, 9)}`,
    () => r.pick(['1st', '2nd', '3rd', '4th', '21st', '10x', 'x86_64', '3D', 'COVID-19', 'H2O', 'CO₂', 'A4', 'mp3', 'i18n']),
    () => `${r.int(1, 9)}${r.digits(2)}.${r.digits(2)}.${r.digits(2)}`,
    () => `π ≈ 3.14159265358979323846264338327950288419716939937510`,
  ];
  const n = r.int(10, 60);
  let s = '';
  for (let i = 0; i < n; i++) {
    if (i) s += r.pick([' ', ' ', ', ', '; ', '\n', ' and ', ' = ', '\t', ' ', '']);
    if (r.chance(0.15)) s += r.pick(WORDS) + ' ';
    s += r.pick(items)();
  }
  return s;
}

function whitespace(r) {
  const items = [
    () => ' '.repeat(r.int(1, 40)),
    () => '\t'.repeat(r.int(1, 6)),
    () => '\n'.repeat(r.int(1, 6)),
    () => '\r\n'.repeat(r.int(1, 3)),
    () => ' '.repeat(r.int(1, 5)) + '\n',
    () => ' \t \n',
    () => '\n \n\t\n',
    () => '\u00A0', () => '\u3000', () => '\u2003', () => '\u2009', () => '\u202F',
    () => '\u200B', () => '\v', () => '\f', () => '\r',
    () => ' '.repeat(r.int(60, 160)),
  ];
  const n = r.int(10, 50);
  let s = r.chance(0.4) ? r.pick(items)() : '';
  for (let i = 0; i < n; i++) {
    s += r.chance(0.6) ? r.pick(WORDS) : r.pick(['x', 'end', 'a  b', 'foo.', '(', ')', '-', '{', '}', '•']);
    s += r.pick(items)();
  }
  return s;
}

function emoji(r) {
  const n = r.int(8, 40);
  let s = '';
  for (let i = 0; i < n; i++) {
    const e = r.pick(EMOJI);
    const mode = r.int(0, 4);
    if (mode === 0) s += e;
    else if (mode === 1) s += ' ' + e;
    else if (mode === 2) s += ' ' + r.pick(WORDS) + e;
    else if (mode === 3) s += e.repeat(r.int(2, 5));
    else s += '\n' + e + ' ' + r.pick(WORDS);
  }
  return s.replace(/^ /, r.chance(0.5) ? '' : ' ');
}

function cjk(r) {
  const banks = [CHINESE, JAPANESE, KOREAN];
  const n = r.int(4, 30);
  let s = '';
  for (let i = 0; i < n; i++) {
    let t = r.pick(r.pick(banks));
    if (r.chance(0.1)) t = t.normalize('NFD'); // Hangul/kana in decomposed form (NFC recomposes)
    s += t + r.pick(['', '', ' ', '\n', '　', ' ' + r.pick(WORDS) + ' ', r.int(0, 2024).toString()]);
  }
  return s;
}

function accents(r) {
  const n = r.int(4, 18);
  let s = '';
  for (let i = 0; i < n; i++) {
    const t = r.chance(0.35) ? r.pick(NFC_SPECIALS) : r.pick(LATIN_ACCENTED);
    const form = r.int(0, 3);
    let u;
    if (form === 0) u = t.normalize('NFC');
    else if (form === 1) u = t.normalize('NFD');
    else if (form === 2) u = t; // as written (mixed)
    else u = Array.from(t).map((c) => (r.chance(0.5) ? c.normalize('NFD') : c)).join(''); // partly decomposed
    s += u + r.pick([' ', '\n', ' — ', '. ', '']);
  }
  return s;
}

function scripts(r) {
  const banks = [ARABIC, HEBREW, CYRILLIC, GREEK, DEVANAGARI, THAI];
  const n = r.int(4, 26);
  let s = '';
  for (let i = 0; i < n; i++) {
    let t = r.pick(r.pick(banks));
    if (r.chance(0.15)) t = t.normalize('NFD');
    s += t + r.pick([' ', '\n', ' (' + r.pick(WORDS) + ') ', ', ', '']);
  }
  return s;
}

function contractions(r) {
  const lower = ["it's", "don't", "we're", "they've", "I'm", "you'll", "he'd", "can't", "won't", "she's", "we'd", "y'all", "o'clock", "ma'am"];
  const forms = (w) => [w, w.toUpperCase(), w[0].toUpperCase() + w.slice(1),
    w.replace(/'(.)/, (m, c) => "'" + c.toUpperCase()), w.replace("'", '\u2019'), w.replace("'", '`')];
  const extra = ["the students' books", "James's car", "'tis", "rock 'n' roll", "''s", "'s", "'S'", "''", "'''triple'''",
    "can't've", "I'LL", "WE'VE", "HE'D", "IT'S", "'LL", "'Re", "'VE", "'M", "'D", "' s", "'ss", "'lll", "x's", "l'amour", "qu'il"];
  const n = r.int(10, 50);
  let s = r.chance(0.3) ? r.pick(["'s ", "'ll ", "'D "]) : '';
  for (let i = 0; i < n; i++) {
    s += r.chance(0.75) ? r.pick(forms(r.pick(lower))) : r.pick(extra);
    s += r.pick([' ', ' ', ', ', '. ', '\n', '']);
    if (r.chance(0.3)) s += r.pick(WORDS) + ' ';
  }
  return s;
}

function specials(r) {
  const n = r.int(3, 16);
  let s = '';
  for (let i = 0; i < n; i++) {
    const k = r.int(0, 7);
    if (k <= 2) s += r.pick(SPECIAL_STRINGS);
    else if (k === 3) s += r.pick(NEAR_MISSES);
    else if (k === 4) s += r.pick(ENGLISH);
    else if (k === 5) s += r.pick(SPECIAL_STRINGS) + r.pick(SPECIAL_STRINGS);
    else if (k === 6) s += ' ' + r.pick(SPECIAL_STRINGS) + ' ';
    else s += r.pick(WORDS) + r.pick(SPECIAL_STRINGS) + r.pick(WORDS);
    s += r.pick(['', ' ', '\n', '\n\n', '  ']);
  }
  return s;
}

function chatTemplates(r) {
  const q = r.pick(ENGLISH), a = r.pick(ENGLISH);
  return r.pick([
    `<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n${q}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n${a}<|eot_id|>`,
    `<|im_start|>system\nYou are Qwen, a helpful assistant.<|im_end|>\n<|im_start|>user\n${q}<|im_end|>\n<|im_start|>assistant\n<think>\n${a}\n</think>\n\n${a}<|im_end|>\n<|endoftext|>`,
    `<s>[INST] ${q} [/INST] ${a}</s><s>[INST] ${q} [/INST]`,
    `<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|fim_prefix|>def f(x):<|fim_suffix|>    return x<|fim_middle|>`,
  ]);
}

const MIXED_SOURCES = [
  (r) => r.pick(ENGLISH), (r) => r.pick(CHINESE), (r) => r.pick(JAPANESE), (r) => r.pick(KOREAN), (r) => r.pick(ARABIC),
  (r) => r.pick(CYRILLIC), (r) => r.pick(GREEK), (r) => r.pick(DEVANAGARI), (r) => r.pick(EMOJI), (r) => r.pick(LATIN_ACCENTED).normalize('NFD'),
  (r) => r.pick(SPECIAL_STRINGS), (r) => r.digits(r.int(1, 12)), (r) => ' '.repeat(r.int(1, 8)), (r) => "it's", (r) => '\t{\n\t\treturn x;\n\t}',
];
function mixed(r) {
  const n = r.chance(0.2) ? r.int(150, 300) : r.int(10, 60);
  let s = '';
  for (let i = 0; i < n; i++) s += r.pick(MIXED_SOURCES)(r) + r.pick(['', ' ', '\n', ', ', '\t']);
  return s;
}

// Short and degenerate inputs; each one alone in its document. No empty document: HF's tokenizers gives
// [BOS] for "", the belladoreai packages give [] (a known, uninteresting difference).
const EDGE = [
  'a', ' ', '  ', '\n', '\t', '\r\n', ' a', 'a ', 'Hello', ' Hello', '<s>', '</s>', '<|eot_id|>', '<|endoftext|>',
  '🦙', '镇', 'é', 'e\u0301', "'", "'s", '0', '1234', '12345', '.', '...', '!!!', 'I',
  'a'.repeat(700), '!'.repeat(300), '🙂'.repeat(120), 'ab'.repeat(250), ' '.repeat(500), '\n'.repeat(100),
  '9'.repeat(1000),
  // whitespace and case-folding corner cases where regex engines differ (see README: "engine corner cases")
  'a\u0085b \u0085 c', 'x\uFEFFy \uFEFF z', '\u180E mongolian vowel separator', '\u2028line\u2029para',
  'x\u180E\u180Ey a\u180E b \u180E\u180Ec', // U+180E: not White_Space (Oniguruma, Rust) but in PCRE2's \h
  '\u{1E4D0}\u{1E4D1} \u{31350}\u{31351} \u{11F04}\u{11F05}: letters new in Unicode 15',
  "it\u017F it'\u017F IT'\u212A", 'ǅ ǈ ǋ titlecase', 'ﬃ ﬄ ſt ẞ ß',
  '\u0000nul', '\u0001\u0002\u001b[31mred\u001b[0m\u007f', 'x\u001c\u001cy\u001f z', '\uFFFD\uFFFD', '\uE000 private use', '\u{10FFFD}',
];

// ---- assembly -----------------------------------------------------------------------------------------
function build(wikitext) {
  const plan = [
    ['prose', 50], ['code', 40], ['numbers', 20], ['whitespace', 20], ['emoji', 16], ['cjk', 20], ['accents', 20],
    ['scripts', 20], ['contractions', 12], ['specials', 12], ['chat', 6],
  ];
  // the rest up to 300 documents: mixed fragments of every kind
  plan.push(['mixed', 300 - 50 - plan.slice(1).reduce((n, [, c]) => n + c, 0) - EDGE.length]);
  const docs = [];
  const gens = { code, numbers, whitespace, emoji, cjk, accents, scripts, contractions, specials, chat: chatTemplates, mixed };
  for (const [kind, count] of plan) {
    const r = rng(kind);
    if (kind === 'prose') {
      const texts = wikitext ? proseFromWikitext(wikitext, count, r) : Array.from({ length: count }, () => proseSynthetic(r));
      for (const t of texts) docs.push({ kind: wikitext ? 'prose-wikitext' : 'prose-synthetic', text: t });
      continue;
    }
    for (let i = 0; i < count; i++) {
      let t = gens[kind](r, i);
      // now and then a document ends with trailing whitespace or starts with leading whitespace
      if (r.chance(0.08)) t = r.pick([' ', '  ', '\n', '\t', ' \n']) + t;
      if (r.chance(0.1)) t += r.pick([' ', '\n', '\n\n', '   ', '\t', ' \n']);
      docs.push({ kind, text: t });
    }
  }
  for (const t of EDGE) docs.push({ kind: 'edge', text: t });
  // deterministic interleaving so neighbouring documents differ in kind
  rng('order').shuffle(docs);
  return docs;
}

async function main() {
  const [outFile, wikiFile] = process.argv.slice(2);
  if (!outFile || process.argv.length > 4) {
    console.error('usage: node make_corpus.mjs OUT_FILE [WIKITEXT_FILE]');
    return EXIT_USAGE;
  }
  const wikitext = wikiFile ? fs.readFileSync(wikiFile, 'utf8') : null;
  const docs = build(wikitext);
  if (docs.some((d) => d.text.length === 0)) throw new Error('empty document generated');
  fs.writeFileSync(outFile, docs.map((d) => JSON.stringify({ text: d.text })).join('\n') + '\n');
  const chars = docs.reduce((n, d) => n + d.text.length, 0);
  const codepoints = docs.reduce((n, d) => n + Array.from(d.text).length, 0);
  const bytes = docs.reduce((n, d) => n + Buffer.byteLength(d.text, 'utf8'), 0);
  const byKind = {};
  for (const d of docs) { byKind[d.kind] = byKind[d.kind] || { docs: 0, codepoints: 0 }; byKind[d.kind].docs++; byKind[d.kind].codepoints += Array.from(d.text).length; }
  const meta = { generator: 'tests/tokenizer_oracle/make_corpus.mjs', wikitext: wikiFile || null, documents: docs.length,
                 utf16_units: chars, codepoints, utf8_bytes: bytes, by_kind: byKind, kinds: docs.map((d) => d.kind) };
  fs.writeFileSync(outFile + '.meta.json', JSON.stringify(meta, null, 1) + '\n');
  console.log(`${outFile}: ${docs.length} documents, ${codepoints} code points (${chars} UTF-16 units), ${bytes} UTF-8 bytes; prose from ${wikiFile ? 'WikiText' : 'the built-in sentence bank'}`);
  if (codepoints < 120000) throw new Error(`corpus too small: ${codepoints} code points`);
  return 0;
}

runMain(main);
