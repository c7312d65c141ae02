#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <sstream>

#include "common/error.h"

namespace advtrain {

namespace {

at::ScalarType scalarTypeOf(const std::string& dtype) {
  if (dtype == "F32") return at::kFloat;
  if (dtype == "F16") return at::kHalf;
  if (dtype == "BF16") return at::kBFloat16;
  if (dtype == "F64") return at::kDouble;
  if (dtype == "I64") return at::kLong;
  if (dtype == "I32") return at::kInt;
  if (dtype == "U8") return at::kByte;
  if (dtype == "BOOL") return at::kBool;
  fail(kErrCheckpoint, "unknown safetensors dtype " + dtype);
}

const char* dtypeName(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "F32";
    case at::kHalf: return "F16";
    case at::kBFloat16: return "BF16";
    case at::kDouble: return "F64";
    case at::kLong: return "I64";
    case at::kInt: return "I32";
    case at::kByte: return "U8";
    case at::kBool: return "BOOL";
    default: fail(kErrCheckpoint, std::string("cannot save dtype ") + c10::toString(t) + " in safetensors");
  }
}

std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out + "\"";
}

std::string sysError(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

void writeAll(int fd, const void* data, size_t n, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(kErrCheckpoint, sysError("cannot write", path));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

at::Tensor readTensor(const TensorSource& src) {
  const at::ScalarType type = scalarTypeOf(src.dtype);
  const int64_t bytes = src.end - src.begin;
  at::Tensor out = at::empty(src.shape, at::TensorOptions().dtype(type));
  if (out.nbytes() != static_cast<size_t>(bytes)) {
    fail(kErrCheckpoint, src.file + ": tensor '" + src.name + "' has " + std::to_string(bytes) + " bytes but its shape and dtype need " + std::to_string(out.nbytes()));
  }
  int fd = ::open(src.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(kErrCheckpoint, sysError("cannot open", src.file));
  char* dst = static_cast<char*>(out.data_ptr());
  int64_t done = 0;
  while (done < bytes) {
    ssize_t r = ::pread(fd, dst + done, static_cast<size_t>(bytes - done), src.begin + done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      ::close(fd);
      fail(kErrCheckpoint, src.file + ": tensor '" + src.name + "' is cut short (file changed or truncated after validation)");
    }
    done += r;
  }
  ::close(fd);
  return out;
}

void writeSafetensorsAtomic(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                            const std::vector<std::pair<std::string, std::string>>& metadata) {
  std::vector<at::Tensor> cpu;
  std::ostringstream header;
  header << "{";
  header << "\"__metadata__\":{";
  for (size_t i = 0; i < metadata.size(); ++i) header << (i ? "," : "") << jsonString(metadata[i].first) << ":" << jsonString(metadata[i].second);
  header << "}";
  int64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    at::Tensor c = t.detach().to(at::kCPU).contiguous();
    header << "," << jsonString(name) << ":{\"dtype\":\"" << dtypeName(c.scalar_type()) << "\",\"shape\":[";
    for (int64_t d = 0; d < c.dim(); ++d) header << (d ? "," : "") << c.size(d);
    const int64_t n = static_cast<int64_t>(c.nbytes());
    header << "],\"data_offsets\":[" << offset << "," << offset + n << "]}";
    offset += n;
    cpu.push_back(c);
  }
  header << "}";
  std::string h = header.str();
  while ((h.size() + 8) % 8 != 0) h += ' ';  // align the data section to 8 bytes, as the reference writer does
  const uint64_t hlen = h.size();

  std::random_device rd;
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail(kErrCheckpoint, sysError("cannot create", tmp));
  try {
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>((hlen >> (8 * i)) & 0xff);  // little-endian u64
    writeAll(fd, len, 8, tmp);
    writeAll(fd, h.data(), h.size(), tmp);
    for (const auto& c : cpu) writeAll(fd, c.data_ptr(), c.nbytes(), tmp);
    if (::fsync(fd) != 0) fail(kErrCheckpoint, sysError("cannot fsync", tmp));
    ::close(fd);
    fd = -1;
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail(kErrCheckpoint, sysError("cannot rename into", path));
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  // Make the rename itself durable.
  const std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  int dfd = ::open(dir.empty() ? "/" : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace advtrain
