#!/usr/bin/env python3
"""Write the evaluation data files ptqbench reads, in their original layouts, from the Hugging Face
`datasets` cache of a machine that has it (ptqbench itself never downloads anything).

    python3 scripts/export_hf_datasets.py --out data/       # then: ptqbench eval ... --data-dir data/

Layout written (the one `ptqbench eval --data-dir` expects, see docs/evaluation.md):
    wikitext2/wiki.test.raw, wikitext2/wiki.train.raw
    piqa/valid.jsonl, piqa/valid-labels.lst
    arc/ARC-Easy-Test.jsonl, arc/ARC-Challenge-Test.jsonl      (flat HF layout, also accepted)
    boolq/dev.jsonl                                            (SuperGLUE layout: label 0/1)
    hellaswag/hellaswag_val.jsonl
    winogrande/dev.jsonl
    lambada/lambada_test.jsonl
The dataset ids are those lm-eval 0.3 loaded; newer hubs moved some (pass --piqa etc. to override).
"""
import argparse
import json
import os
import sys


def write_jsonl(path, rows, keys):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({k: r[k] for k in keys}, ensure_ascii=False) + "\n")


def export_wikitext2(load, out):
    d = os.path.join(out, "wikitext2")
    os.makedirs(d, exist_ok=True)
    for split in ("test", "train"):
        rows = load("wikitext", "wikitext-2-raw-v1", split=split)["text"]
        # The HF builder turned each blank " \n" line of wiki.*.raw into "": write it back.
        with open(os.path.join(d, f"wiki.{split}.raw"), "w", encoding="utf-8") as f:
            f.write("".join(r if r else " \n" for r in rows))


def export_piqa(load, out, name):
    d = os.path.join(out, "piqa")
    os.makedirs(d, exist_ok=True)
    ds = load(name, split="validation")
    write_jsonl(os.path.join(d, "valid.jsonl"), ds, ["goal", "sol1", "sol2"])
    with open(os.path.join(d, "valid-labels.lst"), "w") as f:
        f.write("".join(f"{r['label']}\n" for r in ds))


def export_arc(load, out, name):
    d = os.path.join(out, "arc")
    os.makedirs(d, exist_ok=True)
    for config in ("ARC-Easy", "ARC-Challenge"):
        ds = load(name, config, split="test")
        write_jsonl(os.path.join(d, f"{config}-Test.jsonl"), ds, ["id", "question", "choices", "answerKey"])


def export_boolq(load, out, name):
    d = os.path.join(out, "boolq")
    os.makedirs(d, exist_ok=True)
    write_jsonl(os.path.join(d, "dev.jsonl"), load(name, "boolq", split="validation"),
                ["question", "passage", "idx", "label"])


def export_hellaswag(load, out, name):
    d = os.path.join(out, "hellaswag")
    os.makedirs(d, exist_ok=True)
    write_jsonl(os.path.join(d, "hellaswag_val.jsonl"), load(name, split="validation"),
                ["ind", "activity_label", "ctx_a", "ctx_b", "ctx", "endings", "source_id", "split", "split_type", "label"])


def export_winogrande(load, out, name):
    d = os.path.join(out, "winogrande")
    os.makedirs(d, exist_ok=True)
    write_jsonl(os.path.join(d, "dev.jsonl"), load(name, "winogrande_xl", split="validation"),
                ["sentence", "option1", "option2", "answer"])


def export_lambada(load, out, name):
    d = os.path.join(out, "lambada")
    os.makedirs(d, exist_ok=True)
    write_jsonl(os.path.join(d, "lambada_test.jsonl"), load(name, split="test"), ["text"])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output directory (use it as --data-dir)")
    p.add_argument("--tasks", default="wikitext2,piqa,arc,boolq,hellaswag,winogrande,lambada")
    p.add_argument("--piqa", default="piqa")
    p.add_argument("--arc", default="ai2_arc")
    p.add_argument("--boolq", default="super_glue")
    p.add_argument("--hellaswag", default="hellaswag")
    p.add_argument("--winogrande", default="winogrande")
    p.add_argument("--lambada", default="EleutherAI/lambada_openai")
    args = p.parse_args()
    try:
        from datasets import load_dataset
    except ImportError:
        sys.exit("export_hf_datasets: the Hugging Face `datasets` package is not installed")

    def load(*a, **kw):
        return load_dataset(*a, **kw)

    exporters = {
        "wikitext2": lambda: export_wikitext2(load, args.out),
        "piqa": lambda: export_piqa(load, args.out, args.piqa),
        "arc": lambda: export_arc(load, args.out, args.arc),
        "boolq": lambda: export_boolq(load, args.out, args.boolq),
        "hellaswag": lambda: export_hellaswag(load, args.out, args.hellaswag),
        "winogrande": lambda: export_winogrande(load, args.out, args.winogrande),
        "lambada": lambda: export_lambada(load, args.out, args.lambada),
    }
    failed = []
    for task in args.tasks.split(","):
        if task not in exporters:
            sys.exit(f"export_hf_datasets: unknown task {task!r} (expected one of {', '.join(exporters)})")
        try:
            exporters[task]()
            print(f"export_hf_datasets: {task} written")
        except Exception as e:  # keep going: one missing dataset should not block the others
            print(f"export_hf_datasets: {task} failed: {e}", file=sys.stderr)
            failed.append(task)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
