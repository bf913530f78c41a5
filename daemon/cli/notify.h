/* sd_notify integration for `pinwatch serve` under systemd (Type=notify).
 *
 * Every function is a no-op returning 0 when the process was not started by
 * systemd with a notification socket (NOTIFY_SOCKET unset), so callers never
 * need to know whether they run under systemd. Thread-safe.
 *
 * Call order in the daemon:
 *   notify_ready()            once the database is open and HTTP listens
 *   notify_status(...)        after each sweep (summary), on notable states
 *   notify_watchdog_kick()    from the scheduler loop, as often as it likes:
 *                             it sends WATCHDOG=1 at most every half interval
 *   notify_reloading()        on SIGHUP before re-reading the config, then
 *                             notify_ready() when done
 *   notify_stopping()         on SIGTERM/SIGINT before shutting down
 */
#ifndef PINWATCH_NOTIFY_H
#define PINWATCH_NOTIFY_H

#include <stdint.h>

/** Send READY=1 (with the current STATUS= if one was set). 0 or negative errno. */
int notify_ready(void);

/** Send STOPPING=1. 0 or negative errno. */
int notify_stopping(void);

/** Send RELOADING=1. 0 or negative errno. */
int notify_reloading(void);

/**
 * Send STATUS=<text> (printf format). Control characters of the formatted
 * text (which may include host names from the inventory) are replaced by
 * '?' so that the text cannot inject other assignments; it is cut at 255
 * bytes. 0 or negative errno.
 */
int notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * The watchdog interval systemd expects (WatchdogSec=), in microseconds, or
 * 0 when the watchdog is not enabled for this process.
 */
uint64_t notify_watchdog_usec(void);

/** Send WATCHDOG=1 now. 0 or negative errno; 0 when the watchdog is off. */
int notify_watchdog(void);

/**
 * Send WATCHDOG=1 if at least half the watchdog interval has passed since the
 * last ping (monotonic clock). Cheap enough to call on every loop iteration.
 * Returns 1 when a ping was sent, 0 when not due or disabled, negative errno
 * on failure.
 */
int notify_watchdog_kick(void);

#endif
