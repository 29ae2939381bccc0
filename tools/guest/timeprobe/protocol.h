/* The time-probe wire format, shared by the guest program (timeprobe_guest.c)
 * and the host side (tools/timeprobe). Fixed-size records in the byte order
 * of x86-64 (little-endian): both ends are x86-64 here, and a fixed layout
 * keeps the guest answer a single read + clock_gettime + write.
 *
 * host -> guest: request (16 bytes); guest -> host: reply (32 bytes) with the
 * guest's CLOCK_REALTIME read right after the request arrived. */
#ifndef MIGCLOCK_TIMEPROBE_PROTOCOL_H
#define MIGCLOCK_TIMEPROBE_PROTOCOL_H
#include <stdint.h>

#define MIGCLOCK_TIMEPROBE_PORT "org.migclock.timeprobe.0"
#define MIGCLOCK_TIMEPROBE_MAGIC 0x5054434dU /* "MCTP" */

struct migclock_timeprobe_request {
  uint32_t magic;
  uint32_t reserved;
  uint64_t seq;
};

struct migclock_timeprobe_reply {
  uint32_t magic;
  uint32_t reserved;
  uint64_t seq;      /* the request's */
  int64_t sec;       /* guest CLOCK_REALTIME */
  int64_t nsec;
};

#endif
