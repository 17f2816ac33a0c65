/* tests/fuzz/fuzz_party_save.c - libFuzzer harness for the party document
 * the store hands back at start (lib/party_save.c, --party-retention): a
 * database someone else may have written to.
 *
 * The input (up to its first NUL) is a document: what decodes must hold a
 * state a client may be given (position finite and >= 0, speed in
 * [0.25, 4], server_time finite), members with valid ids, names and
 * 64-hex hashes, chat entries of 1 to RV__PARTY_SAVE_CHAT_MAX bytes; encoded
 * again and decoded, it must come back the same. Any broken promise
 * aborts, which libFuzzer reports as a crash.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "party_save.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct rv__party_save *s)
{
	if (!isfinite(s->state.position) || s->state.position < 0 || !(s->state.speed >= 0.25) ||
	    !(s->state.speed <= 4) || !isfinite(s->state.server_time))
		abort();
	for (size_t i = 0; i < s->n_history; i++)
		if (!s->history_len[i] || s->history_len[i] > RV__PARTY_SAVE_CHAT_MAX)
			abort();
	for (size_t i = 0; i < s->n_members; i++)
		if (!s->members[i].id[0] || strlen(s->members[i].token_hash) != RV__RESUME_HASH_LEN ||
		    !rv_proto_valid_name(s->members[i].name, strlen(s->members[i].name)))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), *doc;
	struct rv__party_save s, again;

	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = 0;
	if (rv__party_save_decode(in, &s)) {
		free(in);
		return 0;
	}
	check(&s);
	if ((doc = rv__party_save_encode(&s))) {
		if (rv__party_save_decode(doc, &again) || again.n_members != s.n_members ||
		    again.n_history != s.n_history || again.state.position != s.state.position ||
		    strcmp(again.host, s.host) || strcmp(again.claim, s.claim))
			abort();
		rv__party_save_clear(&again);
		free(doc);
	}
	rv__party_save_clear(&s);
	free(in);
	return 0;
}
