/* tests/fuzz/fuzz_ladder.c - libFuzzer harness for rv_ladder_parse, the
 * --ladder flag's parser.
 *
 * The input is the flag's value. A parsed ladder must keep every promise
 * the header makes (1-16 profiles, highest first, names and bitrates valid
 * and distinct) and parse again from its own rendering to the same ladder;
 * a refused one must leave the ladder untouched and say why in one line.
 * Any broken promise aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/proto.h"
#include "revenge/quality.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ladder(const struct rv_ladder *l)
{
	if (l->n < 1 || l->n > RV_LADDER_MAX)
		abort();
	for (unsigned i = 0; i < l->n; i++) {
		const struct rv_profile *p = &l->p[i];
		size_t len = strnlen(p->name, sizeof(p->name));

		if (len < 1 || len > RV_PROFILE_NAME_MAX || p->kbps < 1 || p->kbps > 10000000)
			abort();
		for (size_t k = 0; k < len; k++)
			if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-",
				    p->name[k]))
				abort();
		if (i > 0 && l->p[i - 1].kbps <= p->kbps)
			abort();
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(l->p[j].name, p->name))
				abort();
		if (rv_ladder_find(l, p->name) != (int)i)
			abort();
	}
	if (rv_ladder_initial(l) < 0 || rv_ladder_initial(l) >= (int)l->n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv_ladder l, again, untouched;
	char spec[4096 + 1], text[RV_LADDER_MAX * (RV_PROFILE_NAME_MAX + 12) + 1];
	char err[256];
	size_t used = 0;

	if (size > sizeof(spec) - 1)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';      /* a flag's value ends at its first NUL */
	memset(&l, 0xa5, sizeof(l));
	untouched = l;
	err[0] = '\0';
	if (rv_ladder_parse(spec, &l, err, sizeof(err))) {
		if (memcmp(&l, &untouched, sizeof(l)) || !err[0] || strchr(err, '\n') ||
		    strnlen(err, sizeof(err)) == sizeof(err))
			abort();
		return 0;
	}
	check_ladder(&l);
	for (unsigned i = 0; i < l.n; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%s:%u",
					 i ? "," : "", l.p[i].name, l.p[i].kbps);
	if (rv_ladder_parse(text, &again, NULL, 0) || again.n != l.n)
		abort();
	for (unsigned i = 0; i < l.n; i++)
		if (strcmp(again.p[i].name, l.p[i].name) || again.p[i].kbps != l.p[i].kbps)
			abort();
	return 0;
}
