#include "mlforge/device.h"

#include "backend/cuda_entry.h"

namespace mlforge {

bool cuda_compiled() noexcept { return detail::cuda::compiled(); }

int cuda_device_count() noexcept { return detail::cuda::device_count(); }

bool cuda_available() noexcept { return cuda_device_count() > 0; }

void cuda_stream_wait(Stream consumer, Stream producer) { detail::cuda::stream_wait(consumer, producer); }

}  // namespace mlforge
