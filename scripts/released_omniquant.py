#!/usr/bin/python3
"""The released OmniQuant code, run by ../shared/tools/orig_omniquant.py, with one addition: --log-losses FILE
writes the loss of every training step as JSON lines in the format of `ptqbench quantize --log-losses`
({"unit": "block i", "epoch": e, "step": s, "loss": l}), so that scripts/compare-released can find the first
step where the two implementations part.

The addition is one more textual patch on the copied original (quantize/omniquant.py, after the line that
records the step's loss); it reads the loss the original computed and changes nothing else. Every other
argument goes to orig_omniquant.py unchanged. The driver is found at $PTQ_SHARED/tools/orig_omniquant.py
(PTQ_SHARED defaults to ../shared beside the repository).
"""
import importlib.util
import os
import sys

ENV = "PTQ_RELEASED_LOSS_LOG"
STEP_LINE = "                    loss_list.append(loss.detach().cpu())\n"
DUMP = (STEP_LINE +
        "                    if os.environ.get('" + ENV + "'):  # [scripts/released_omniquant.py] per-step loss\n"
        "                        with open(os.environ['" + ENV + "'], 'a') as _f:\n"
        "                            _f.write('{\"unit\": \"block %d\", \"epoch\": %d, \"step\": %d, \"loss\": %.9g}\\n'"
        " % (i, epochs, j, loss.item()))\n")


def load_driver():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shared = os.environ.get("PTQ_SHARED", os.path.join(repo, "..", "shared"))
    path = os.path.join(shared, "tools", "orig_omniquant.py")
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: the released-code driver is missing (set PTQ_SHARED to the directory holding tools/)")
    spec = importlib.util.spec_from_file_location("orig_omniquant", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    argv = sys.argv[1:]
    if "--log-losses" in argv:
        k = argv.index("--log-losses")
        if k + 1 >= len(argv):
            raise SystemExit("--log-losses needs a file name")
        os.environ[ENV] = os.path.abspath(argv[k + 1])
        open(os.environ[ENV], "w").close()
        del argv[k:k + 2]
    driver = load_driver()
    driver.PATCHES.append(("quantize/omniquant.py", STEP_LINE, DUMP, 1, "per-step loss to $" + ENV + " (no effect on results)"))
    sys.argv = [sys.argv[0]] + argv
    driver.main()


if __name__ == "__main__":
    main()
