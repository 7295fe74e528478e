#include "harness/model/tokenizers/sentencepiece_model.h"

#include "harness/io/files.h"
#include "harness/io/sha256.h"
#include "harness/model/spm_shim/spm_shim.h"
#include "harness/util/errors.h"

#include <fmt/format.h>

#include <dlfcn.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>

namespace fs = std::filesystem;

extern char** environ;

namespace ptq::tok {

namespace {

// The shim's entry points, resolved once per process.
struct ShimApi {
  std::string path;
  decltype(&ptq_spm_abi_version) abi_version;
  decltype(&ptq_spm_load) load;
  decltype(&ptq_spm_free) free;
  decltype(&ptq_spm_piece_size) piece_size;
  decltype(&ptq_spm_bos_id) bos_id;
  decltype(&ptq_spm_eos_id) eos_id;
  decltype(&ptq_spm_unk_id) unk_id;
  decltype(&ptq_spm_encode) encode;
  decltype(&ptq_spm_decode) decode;
  decltype(&ptq_spm_id_to_piece) id_to_piece;
  decltype(&ptq_spm_free_buffer) free_buffer;
};

// Helper files are looked up: $<env_var>, then next to the executable (bin/ and ../lib/), then in the
// build tree that produced this binary.
std::vector<std::string> candidate_paths(const char* env_var, const char* file_name, const char* build_path) {
  std::vector<std::string> out;
  if (const char* env = std::getenv(env_var)) out.emplace_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    out.push_back((exe.parent_path() / "../lib" / file_name).lexically_normal().string());
    out.push_back((exe.parent_path() / file_name).string());
  }
  out.emplace_back(build_path);
  return out;
}

std::string find_helper(const char* env_var, const char* file_name, const char* build_path) {
  std::string tried;
  for (const auto& p : candidate_paths(env_var, file_name, build_path)) {
    if (io::file_exists(p)) return p;
    tried += " " + p;
  }
  throw std::runtime_error(fmt::format("{} not found (tried:{}); set {}", file_name, tried, env_var));
}

template <typename F>
void resolve(void* lib, const char* name, F& fn, const std::string& path) {
  fn = reinterpret_cast<F>(::dlsym(lib, name));
  if (fn == nullptr) throw std::runtime_error(fmt::format("{}: missing symbol {} (stale build?)", path, name));
}

// dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND). AddressSanitizer's dlopen interceptor aborts on
// RTLD_DEEPBIND; in sanitizer builds (scripts/sanitize) glibc's own dlopen is called instead. The shim
// allocates and frees its buffers itself (spm_shim.h), so its allocator never meets ASan's.
void* dlopen_deepbind(const char* path) {
  constexpr int kFlags = RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND;
#if defined(__SANITIZE_ADDRESS__)
  using DlopenFn = void* (*)(const char*, int);
  auto libc_dlopen = reinterpret_cast<DlopenFn>(::dlvsym(RTLD_NEXT, "dlopen", "GLIBC_2.34"));
  if (libc_dlopen == nullptr) libc_dlopen = reinterpret_cast<DlopenFn>(::dlvsym(RTLD_NEXT, "dlopen", "GLIBC_2.2.5"));
  if (libc_dlopen != nullptr) return libc_dlopen(path, kFlags);
#endif
  return ::dlopen(path, kFlags);
}

const ShimApi& shim() {
  static ShimApi api;
  static std::once_flag once;
  std::call_once(once, [] {
    api.path = find_helper("PTQ_SPM_SHIM", "libptq_spm_shim.so", PTQ_SPM_SHIM_BUILD_PATH);
    // RTLD_DEEPBIND: the shim's sentencepiece resolves its own (bundled) protobuf symbols, never the
    // ones LibTorch already loaded into the global namespace.
    void* lib = dlopen_deepbind(api.path.c_str());
    if (lib == nullptr) throw std::runtime_error(fmt::format("cannot load tokenizer shim {}: {}", api.path, ::dlerror()));
    resolve(lib, "ptq_spm_abi_version", api.abi_version, api.path);
    if (api.abi_version() != PTQ_SPM_SHIM_ABI_VERSION)
      throw std::runtime_error(fmt::format("{}: shim ABI {} does not match the harness ({})", api.path,
                                           api.abi_version(), PTQ_SPM_SHIM_ABI_VERSION));
    resolve(lib, "ptq_spm_load", api.load, api.path);
    resolve(lib, "ptq_spm_free", api.free, api.path);
    resolve(lib, "ptq_spm_piece_size", api.piece_size, api.path);
    resolve(lib, "ptq_spm_bos_id", api.bos_id, api.path);
    resolve(lib, "ptq_spm_eos_id", api.eos_id, api.path);
    resolve(lib, "ptq_spm_unk_id", api.unk_id, api.path);
    resolve(lib, "ptq_spm_encode", api.encode, api.path);
    resolve(lib, "ptq_spm_decode", api.decode, api.path);
    resolve(lib, "ptq_spm_id_to_piece", api.id_to_piece, api.path);
    resolve(lib, "ptq_spm_free_buffer", api.free_buffer, api.path);
  });
  return api;
}

// sp.encode / sp.decode through the shim. Special-token strings ("<s>", "<unk>") are plain text here, as
// sentencepiece encodes them (transformers' slow tokenizer would split them out: data/ppl_tasks.h counts
// them in a notice).
class SentencePieceTokenizer final : public TokenizerBackend {
 public:
  explicit SentencePieceTokenizer(std::shared_ptr<ptq_spm> handle) : handle_(std::move(handle)) {}

  std::vector<int32_t> encode(std::string_view text) const override {
    const auto& api = shim();
    char err[512] = {0};
    size_t n = 0;
    int32_t* ids = api.encode(handle_.get(), text.data(), text.size(), &n, err, sizeof err);
    if (ids == nullptr) throw std::runtime_error(fmt::format("sentencepiece encode failed: {}", err));
    std::vector<int32_t> out(ids, ids + n);
    api.free_buffer(ids);
    return out;
  }

  std::string decode(const std::vector<int32_t>& ids) const override {
    const auto& api = shim();
    char err[512] = {0};
    size_t n = 0;
    char* text = api.decode(handle_.get(), ids.data(), ids.size(), &n, err, sizeof err);
    if (text == nullptr) throw std::runtime_error(fmt::format("sentencepiece decode failed: {}", err));
    std::string out(text, n);
    api.free_buffer(text);
    return out;
  }

  std::string piece(int32_t id) const override {
    const auto& api = shim();
    char* p = api.id_to_piece(handle_.get(), id);
    if (p == nullptr) throw std::out_of_range(fmt::format("token id {} outside the vocabulary", id));
    std::string out(p);
    api.free_buffer(p);
    return out;
  }

 private:
  std::shared_ptr<ptq_spm> handle_;
};

}  // namespace

std::string spm_shim_path() { return shim().path; }

LoadedTokenizer load_sentencepiece(const std::string& model_path) {
  io::require_file(model_path, "tokenizer model");
  const auto& api = shim();
  char err[512] = {0};
  ptq_spm* raw = api.load(model_path.c_str(), err, sizeof err);
  if (raw == nullptr)
    throw InputError(fmt::format("{}: not a sentencepiece model ({}), expected a tokenizer.model file", model_path, err));
  std::shared_ptr<ptq_spm> handle(raw, api.free);
  LoadedTokenizer t;
  t.kind = "sentencepiece";
  t.files = {model_path};
  t.sha256 = io::sha256_file(model_path);
  t.vocab_size = api.piece_size(raw);
  t.bos_id = api.bos_id(raw);
  t.eos_id = api.eos_id(raw);
  t.unk_id = api.unk_id(raw);
  // transformers' slow LlamaTokenizer(text) = [bos] + sp.encode(text), no EOS (GPTQ/OmniQuant's protocol).
  if (t.bos_id >= 0) t.prefix_ids = {t.bos_id};
  t.matches_special_strings = false;
  t.backend = std::make_shared<SentencePieceTokenizer>(std::move(handle));
  return t;
}

void train_sentencepiece(const std::vector<std::string>& trainer_flags, const std::string& workdir) {
  const std::string exe = find_helper("PTQ_SPM_TRAIN", "ptq_spm_train", PTQ_SPM_TRAIN_BUILD_PATH);
  char log_template[] = "/tmp/ptq_spm_train_XXXXXX";
  const int log_fd = ::mkstemp(log_template);
  if (log_fd < 0) throw std::runtime_error("cannot create a temporary file for the trainer's log");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, log_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, log_fd, STDERR_FILENO);
  if (!workdir.empty()) posix_spawn_file_actions_addchdir_np(&actions, workdir.c_str());
  std::vector<std::string> args = {exe};
  args.insert(args.end(), trainer_flags.begin(), trainer_flags.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(log_fd);
  int status = 0;
  if (rc == 0) ::waitpid(pid, &status, 0);
  const std::string log = io::read_file(log_template);
  ::unlink(log_template);
  if (rc != 0) throw std::runtime_error(fmt::format("cannot start {}: {}", exe, std::strerror(rc)));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    // The trainer's last line says what went wrong (a bad flag, an unreadable input, ...).
    std::string last = log;
    while (!last.empty() && last.back() == '\n') last.pop_back();
    last = last.substr(last.rfind('\n') == std::string::npos ? 0 : last.rfind('\n') + 1);
    throw InputError(fmt::format("sentencepiece training failed: {}", last.empty() ? "no output" : last));
  }
}

}  // namespace ptq::tok
