/* cmd/revenge-bench/delay.c - the in-process delay model of `revenge-bench
 * sync` (delay.h): per-direction delays, FIFO release, seeded draws.
 */
#include "delay.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64: tiny, seedable with any value, good enough for delays. */
double delay_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0;   /* 2^53 */
}

void delay_path_init(struct delay_path *p, double base_ms, double jitter_ms,
		     enum delay_dist dist, uint64_t seed)
{
	p->base_ms = base_ms;
	p->dist = dist;
	p->jitter_ms = jitter_ms < base_ms ? jitter_ms : base_ms;
	p->rng = seed;
	p->last_release_ms = -1e300;
}

double delay_path_next(struct delay_path *p, double now_ms)
{
	double d = p->base_ms, at;

	if (p->jitter_ms > 0 && p->dist == DELAY_NORMAL) {
		/* Box-Muller; 1 - u keeps the logarithm's argument above 0 */
		double u = 1 - delay_rand(&p->rng), v = delay_rand(&p->rng);

		d += sqrt(-2 * log(u)) * cos(2 * M_PI * v) * p->jitter_ms;
	} else if (p->jitter_ms > 0) {
		d += (2 * delay_rand(&p->rng) - 1) * p->jitter_ms;
	}
	at = now_ms + (d > 0 ? d : 0);
	if (at < p->last_release_ms)
		at = p->last_release_ms;   /* behind the one before: TCP keeps order */
	p->last_release_ms = at;
	return at;
}

void delay_queue_init(struct delay_queue *q, double base_ms, double jitter_ms,
		      enum delay_dist dist, uint64_t seed)
{
	delay_path_init(&q->path, base_ms, jitter_ms, dist, seed);
	q->head = NULL;
	q->tail = &q->head;
	q->n = 0;
}

int delay_queue_push(struct delay_queue *q, double now_ms, int tag, const char *text,
		     size_t len)
{
	struct delay_msg *m = malloc(sizeof(*m) + len + 1);

	if (!m)
		return -1;
	m->next = NULL;
	m->release_ms = delay_path_next(&q->path, now_ms);
	m->tag = tag;
	m->len = len;
	memcpy(m->text, text, len);
	m->text[len] = 0;
	*q->tail = m;
	q->tail = &m->next;
	q->n++;
	return 0;
}

struct delay_msg *delay_queue_pop(struct delay_queue *q, double now_ms)
{
	struct delay_msg *m = q->head;

	if (!m || m->release_ms > now_ms)
		return NULL;
	q->head = m->next;
	if (!q->head)
		q->tail = &q->head;
	q->n--;
	m->next = NULL;
	return m;
}

void delay_queue_clear(struct delay_queue *q)
{
	struct delay_msg *m;

	while ((m = q->head)) {
		q->head = m->next;
		free(m);
	}
	q->tail = &q->head;
	q->n = 0;
}
