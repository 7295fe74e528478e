// ptq_spm_train: sentencepiece's trainer as a separate, LibTorch-free process.
// Training cannot run inside the harness process: the trainer logs through std::cerr, and a library
// loaded with RTLD_DEEPBIND (as the shim must be, see spm_shim.h) binds to libstdc++'s own std::cerr
// rather than the executable's copy-relocated, initialised one - it crashes on the first log line.
// Usage: ptq_spm_train --input=corpus.txt --model_prefix=out/tok --vocab_size=1000 [trainer flags...]
#include <sentencepiece_trainer.h>

#include <iostream>
#include <string>

int main(int argc, char** argv) {
  std::string flags;
  for (int i = 1; i < argc; ++i) flags += (i > 1 ? " " : "") + std::string(argv[i]);
  const auto status = sentencepiece::SentencePieceTrainer::Train(flags);
  if (!status.ok()) {
    std::cerr << "ptq_spm_train: " << status.ToString() << "\n";
    return 1;
  }
  return 0;
}
