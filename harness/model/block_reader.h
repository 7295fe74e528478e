// The blocks begin..end-1 of a model, in order, for a pass over them all (a layer-wise evaluation, the
// reconstruction engine, RTN). With a streamed model the next block is read from its storage - the
// mmap'd checkpoint or a spill file, i.e. disk or page cache - on a background thread while the caller
// works with the current one: reading a 1.7 GB 70B block from disk takes about as long as running it
// over WikiText-2 on a GPU. Resident blocks are handed out as model.block(i), with no thread.
#pragma once

#include "harness/model/llama_model.h"

#include <future>

namespace ptq {

class BlockReader {
 public:
  // `model` must outlive the reader. Blocks at or after the one last handed out must not be stored
  // (set_block) while the reader runs; storing the ones handed out is what the engine does and is fine.
  BlockReader(const LlamaModel& model, size_t begin, size_t end);
  ~BlockReader();  // waits for a read in flight
  BlockReader(const BlockReader&) = delete;
  BlockReader& operator=(const BlockReader&) = delete;

  // The next block on the model's device in its dtype (as model.block(i)); at most end - begin calls.
  DecoderBlock next();

 private:
  bool streams(size_t i) const;
  void read_ahead(size_t i);
  const LlamaModel& model_;
  size_t next_, end_;
  std::future<DecoderBlock> ahead_;  // the host copy of block next_, when it is being read
};

}  // namespace ptq
