#!/usr/bin/env python3
"""Reference values for tests/unit/test_c4_windows.cpp: GPTQ/OmniQuant's get_c4 window loop (datautils.py)
run with CPython's `random` on a synthetic corpus and a toy tokenizer.

Corpus: document i has n_i = ((i * 7) % 23) + 1 words "w<i>_<k>", except that in the "safe" corpus a
document of exactly 15 words (16 tokens = seqlen, on which the reference's randint(0, -1) raises) gets 30
words instead; toy tokenizer: [1] + [len(word) for word in
text.split()] (a BOS then one id per word). Run: python3 tests/reference/c4_windows.py
"""
import random


def words(i, safe):
    n = ((i * 7) % 23) + 1
    return 30 if safe and n == 15 else n


def docs(safe):
    return [" ".join(f"w{i}_{k}" for k in range(words(i, safe))) for i in range(40)]


def tokenize(text):
    return [1] + [len(w) for w in text.split()]


def windows(corpus, n, seqlen, seed):
    random.seed(seed)
    out = []
    for _ in range(n):
        while True:
            i = random.randint(0, len(corpus) - 1)
            ids = tokenize(corpus[i])
            if len(ids) >= seqlen:
                break
        j = random.randint(0, len(ids) - seqlen - 1)
        out.append((i, j))
    return out


if __name__ == "__main__":
    corpus = docs(safe=True)
    for seed in (0, 2):
        print(f"seed {seed}: {windows(corpus, 6, 16, seed)}")
    try:
        windows(docs(safe=False), 6, 16, 0)
    except ValueError as e:
        print("unsafe corpus, seed 0:", e)
    random.seed(5)
    print("stream starts seed 5:", [random.randint(0, 1000 - 8 - 1) for _ in range(6)])
