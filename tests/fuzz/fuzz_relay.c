/* tests/fuzz/fuzz_relay.c - libFuzzer harness for what cluster mode reads
 * from outside: the envelope of another node's party message as Redis
 * hands it over (lib/relay.c), and the --redis URL (lib/redis_url.c).
 *
 * The whole input is an envelope: what decodes must hold a state a client
 * may be given (position finite and >= 0, speed in [0.25, 4], server_time
 * finite), a frame inside the input that is non-empty, at most the bound
 * and starts with '{'; encoded again and decoded, it must come back the
 * same. The input up to its first NUL is also a URL: refused with a
 * reason, or parsed into a port in 1-65535 (TCP) or an absolute socket
 * path (unix), a db in 0-65535, and, with a password, a redacted form
 * that hides it.
 * Any broken promise aborts, which libFuzzer reports as a crash.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redis_url.h"
#include "relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void envelope(const char *in, size_t size)
{
	struct rv__relay_msg m, again;
	char *buf;
	size_t len;

	if (rv__relay_decode(in, size, &m))
		return;
	if (m.frame < in || m.frame + m.frame_len != in + size || m.frame_len == 0 ||
	    m.frame_len > RV__RELAY_FRAME_MAX || m.frame[0] != '{')
		abort();
	if (m.kind == RV__RELAY_SYNC &&
	    (!isfinite(m.state.position) || m.state.position < 0 || !(m.state.speed >= 0.25) ||
	     !(m.state.speed <= 4) || !isfinite(m.state.server_time)))
		abort();
	if (rv__relay_encode(&m, &buf, &len))
		abort();
	if (rv__relay_decode(buf, len, &again) || again.node != m.node || again.kind != m.kind ||
	    again.frame_len != m.frame_len || memcmp(again.frame, m.frame, m.frame_len))
		abort();
	if (m.kind == RV__RELAY_SYNC &&
	    (again.state.position != m.state.position || again.state.speed != m.state.speed ||
	     again.state.playing != m.state.playing ||
	     again.state.server_time != m.state.server_time))
		abort();
	free(buf);
}

static void url(const char *s)
{
	struct rv__redis_url u;
	char why[300], shown[RV__REDIS_URL_MAX + 8];

	why[0] = 0;
	if (rv__redis_url_parse(s, &u, why, sizeof(why))) {
		if (!why[0])
			abort();
		return;
	}
	if (u.db > RV__REDIS_DB_MAX)
		abort();
	if (u.unix_socket ? u.path[0] != '/' : (u.port < 1 || u.port > 65535 || !u.host[0]))
		abort();
	/* TLS only over TCP, and only when asked for */
	if (u.tls && (u.unix_socket || strncmp(s, "rediss://", 9)))
		abort();
	rv__redis_url_redact(s, shown, sizeof(shown));
	if (u.has_password && !strstr(shown, ":***@"))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);

	memcpy(copy, data, size);
	envelope(copy, size);
	copy[size] = 0;
	url(copy);
	free(copy);
	return 0;
}
