#include "harness/model/block_reader.h"

#include "harness/model/block_storage.h"

#include <stdexcept>

namespace ptq {

BlockReader::BlockReader(const LlamaModel& model, size_t begin, size_t end) : model_(model), next_(begin), end_(end) {
  read_ahead(next_);
}

BlockReader::~BlockReader() {
  if (ahead_.valid()) ahead_.wait();
}

bool BlockReader::streams(size_t i) const { return model_.streamed() && !model_.block_in_memory(i); }

void BlockReader::read_ahead(size_t i) {
  if (i >= end_ || !streams(i)) return;
  const BlockStorage* storage = model_.storage();
  ahead_ = std::async(std::launch::async, [storage, i, config = model_.config()] { return storage->read_host(i, config); });
}

DecoderBlock BlockReader::next() {
  if (next_ >= end_) throw std::logic_error("BlockReader::next past the last block");
  const size_t i = next_++;
  DecoderBlock block;
  if (ahead_.valid()) {
    block = BlockStorage::place(ahead_.get(), model_.config(), model_.device(), model_.dtype());  // rethrows a read error
  } else {
    block = model_.block(i);
  }
  read_ahead(next_);
  return block;
}

}  // namespace ptq
