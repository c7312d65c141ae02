// advtrain's own exception: carries the stable error code the JS AdvtrainError exposes.
#pragma once
#include <stdexcept>
#include <string>

namespace advtrain {

class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

// Codes shared with lib/errors.ts.
inline constexpr const char* kErrInvalidArg = "ERR_INVALID_ARG";
inline constexpr const char* kErrCheckpoint = "ERR_CHECKPOINT";
inline constexpr const char* kErrCudaOom = "ERR_CUDA_OOM";
inline constexpr const char* kErrOom = "ERR_OOM";
inline constexpr const char* kErrNative = "ERR_NATIVE";
inline constexpr const char* kErrBusy = "ERR_BUSY";
inline constexpr const char* kErrDisposed = "ERR_DISPOSED";
inline constexpr const char* kErrCudaUnavailable = "ERR_CUDA_UNAVAILABLE";
inline constexpr const char* kErrNonFinite = "ERR_NON_FINITE";
inline constexpr const char* kErrDistributed = "ERR_DISTRIBUTED";

[[noreturn]] inline void fail(const char* code, const std::string& message) { throw Error(code, message); }

}  // namespace advtrain
