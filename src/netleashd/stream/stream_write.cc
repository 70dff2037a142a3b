#include "netleashd/stream/stream_write.h"

#include <sys/socket.h>

#include <cstdlib>
#include <cstring>

namespace netleash::netleashd {
namespace {

// A write request and, right behind it in the same allocation, its bytes.
struct QueuedWrite {
  uv_write_t req;
  char* bytes() { return reinterpret_cast<char*>(this + 1); }
};

}  // namespace

int stream_write_through(uv_stream_t* to, const char* head, size_t head_length, const char* data,
                         size_t length, void* context, uv_write_cb done) {
  const size_t total = head_length + length;
  size_t written = 0;
  if (to->write_queue_size == 0) {
    // One writev, so that the reader gets the head and the data together.
    uv_buf_t bufs[2];
    unsigned count = 0;
    if (head_length > 0) bufs[count++] = uv_buf_init(const_cast<char*>(head), static_cast<unsigned>(head_length));
    if (length > 0) bufs[count++] = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(length));
    if (count == 0) return 0;
    const int n = uv_try_write(to, bufs, count);
    if (n < 0 && n != UV_EAGAIN) return n;
    written = n > 0 ? static_cast<size_t>(n) : 0;
  }
  if (written == total) return 0;
  auto* write = static_cast<QueuedWrite*>(std::malloc(sizeof(QueuedWrite) + total - written));
  if (write == nullptr) return UV_ENOMEM;
  char* out = write->bytes();
  if (written < head_length) {
    std::memcpy(out, head + written, head_length - written);
    out += head_length - written;
    if (length > 0) std::memcpy(out, data, length);
  } else {
    std::memcpy(out, data + (written - head_length), total - written);
  }
  write->req.data = context;
  uv_buf_t buf = uv_buf_init(write->bytes(), static_cast<unsigned>(total - written));
  const int status = uv_write(&write->req, to, &buf, 1, done);
  if (status < 0) std::free(write);
  return status;
}

void stream_write_free(uv_write_t* req) { std::free(reinterpret_cast<QueuedWrite*>(req)); }

void stream_shut_write_now(uv_stream_t* to) {
  uv_os_fd_t fd;
  if (to->write_queue_size == 0 && uv_fileno(reinterpret_cast<uv_handle_t*>(to), &fd) == 0) shutdown(fd, SHUT_WR);
}

}  // namespace netleash::netleashd
