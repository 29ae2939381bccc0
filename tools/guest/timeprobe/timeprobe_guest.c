/* migclock-timeprobe-guest: the guest end of the demo's independent judge.
 * Answers every request on its own virtio-serial port with the guest's
 * CLOCK_REALTIME (protocol.h). It shares nothing with qemu-ga, the path
 * migclock repairs the clock through, so a bias of that path shows up here
 * instead of cancelling out.
 *
 * Built static (no libc in the busybox initramfs beyond qemu-ga's) by
 * tools/guest/build-guest.sh. Usage: migclock-timeprobe-guest [PORT_DEVICE] */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "protocol.h"

static void nap_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Serves one open of the port until a read error. A read of 0 means no host
 * end is connected (the virtio console returns EOF then instead of
 * blocking): poll gently until one is. */
static void serve(int fd) {
  unsigned char buf[256];
  size_t have = 0;
  for (;;) {
    ssize_t n = read(fd, buf + have, sizeof buf - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (n == 0) {
      have = 0; /* a partial request from a host that left is void */
      nap_ms(5);
      continue;
    }
    have += (size_t)n;
    while (have >= sizeof(struct migclock_timeprobe_request)) {
      struct timespec now;
      struct migclock_timeprobe_request req;
      struct migclock_timeprobe_reply rep;
      clock_gettime(CLOCK_REALTIME, &now); /* first: the reply's time is the request's arrival */
      memcpy(&req, buf, sizeof req);
      if (req.magic != MIGCLOCK_TIMEPROBE_MAGIC) { /* out of step: drop what we have */
        have = 0;
        break;
      }
      have -= sizeof req;
      memmove(buf, buf + sizeof req, have);
      memset(&rep, 0, sizeof rep);
      rep.magic = MIGCLOCK_TIMEPROBE_MAGIC;
      rep.seq = req.seq;
      rep.sec = (int64_t)now.tv_sec;
      rep.nsec = (int64_t)now.tv_nsec;
      if (write(fd, &rep, sizeof rep) < 0 && errno != EINTR) break; /* host gone: reads tell */
    }
  }
}

int main(int argc, char** argv) {
  const char* dev = argc > 1 ? argv[1] : "/dev/virtio-ports/" MIGCLOCK_TIMEPROBE_PORT;
  for (;;) {
    int fd = open(dev, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      nap_ms(100);
      continue;
    }
    serve(fd);
    close(fd);
    nap_ms(100);
  }
}
