/* revenge/systime.h - the only place the library reads the system clocks.
 *
 * Kept apart from clock.h so the pure core never reads a clock by accident.
 */
#ifndef REVENGE_SYSTIME_H
#define REVENGE_SYSTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t rv_time_mono_ns(void);

/* CLOCK_REALTIME in milliseconds since the Unix epoch, fractional. */
double rv_time_wall_ms(void);

#ifdef __cplusplus
}
#endif

#endif
