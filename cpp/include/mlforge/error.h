// MLForge error hierarchy.
//
// Every error derives from a standard exception so generic handlers work, and the Python bindings
// translate each type to a class under reactor.errors.ReactorError:
//   InvalidArgument  : std::invalid_argument -> InvalidArgumentError (ValueError)
//   OutOfRange       : std::out_of_range     -> OutOfRangeError      (IndexError)
//   Timeout          : std::runtime_error    -> TimeoutError         (TimeoutError)
//   Unavailable      : std::runtime_error    -> UnavailableError     (RuntimeError)
//   CapacityExceeded : std::runtime_error    -> CapacityExceededError (MemoryError)
//   CorruptData      : std::runtime_error    -> CorruptDataError     (ValueError)
// Messages start with "[component.op]" and name the offending parameter and value. Callers must
// dispatch on the type, never on the message text. Broken internal invariants are not errors:
// they abort in debug builds (MLFORGE_DCHECK).
#pragma once

#include <cassert>
#include <sstream>
#include <stdexcept>
#include <string>

#include "mlforge/api.h"

namespace mlforge {

/// A caller passed a value the operation cannot accept (wrong dtype, shape, NaN, negative size...).
class MLFORGE_API InvalidArgument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// An index or key lies outside the valid range.
class MLFORGE_API OutOfRange : public std::out_of_range {
 public:
  using std::out_of_range::out_of_range;
};

/// A blocking operation did not complete before its deadline.
class MLFORGE_API Timeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A feature or device is not available in this build or on this machine (e.g. CUDA).
class MLFORGE_API Unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A bounded resource (memory, table capacity, queue size) cannot take the request.
class MLFORGE_API CapacityExceeded : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Persistent data failed validation (bad magic, version, checksum or a torn write).
class MLFORGE_API CorruptData : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
/// Concatenates any streamable values into one message.
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

}  // namespace mlforge

/// Throws `ErrorType` with the streamed message parts when `cond` is false.
/// Example: MLFORGE_CHECK(n >= 0, InvalidArgument, "[random.normal] n must be >= 0, got ", n);
#define MLFORGE_CHECK(cond, ErrorType, ...)                                 \
  do {                                                                      \
    if (!(cond)) throw ::mlforge::ErrorType(::mlforge::detail::concat(__VA_ARGS__)); \
  } while (0)

/// Internal invariant: aborts in debug builds, compiled out in release builds.
#define MLFORGE_DCHECK(cond) assert(cond)
