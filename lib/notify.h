/* lib/notify.h - internal: systemd's readiness protocol (sd_notify), spoken
 * directly over $NOTIFY_SOCKET without libsystemd (notify.c).
 */
#ifndef REVENGE_NOTIFY_H
#define REVENGE_NOTIFY_H

/* Send state (e.g. "READY=1\nSTATUS=listening on ws://...") to the service
 * manager named by $NOTIFY_SOCKET: an absolute path or an abstract socket
 * ("@name"). Without the variable nothing is sent and 0 is returned; -1
 * when the socket cannot be reached (the caller logs it at debug level: a
 * supervisor that stopped listening is not the server's problem). */
int rv__notify(const char *state);

/* "RELOADING=1" with MONOTONIC_USEC (what Type=notify-reload expects). */
int rv__notify_reloading(void);

#endif
