/* cmd/revenge-probe/runtime.c - clients, message queues and sequential
 * waits for the checks (see probe.h).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

#define QUEUE_MAX 100000        /* messages held per client before giving up */

double probe_now_ms(void)
{
	return (double)rv_time_mono_ns() / 1e6;
}

void probe_fail(struct probe *p, int status, const char *fmt, ...)
{
	va_list ap;

	if (p->status)
		return;
	p->status = status;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
}

/* ---- waiting ------------------------------------------------------------ */

static void wake(struct ev_loop *loop, ev_timer *t, int revents)
{
}

/* Run the loop until done(arg) or the deadline; true when done. */
bool probe_run_until(struct probe *p, bool (*done)(void *), void *arg, double deadline_ms)
{
	ev_timer t;

	ev_timer_init(&t, wake, 0, 0);
	while (!done(arg)) {
		double left = deadline_ms - probe_now_ms();

		if (left <= 0 || p->interrupted)
			break;
		/* wake at least every second: an interrupt must be noticed */
		ev_timer_set(&t, (left < 1000 ? left : 1000) / 1000.0, 0);
		ev_timer_start(p->loop, &t);
		ev_run(p->loop, EVRUN_ONCE);
		ev_timer_stop(p->loop, &t);
	}
	return done(arg);
}

static bool never(void *arg)
{
	return false;
}

void probe_sleep(struct probe *p, double ms)
{
	probe_run_until(p, never, NULL, probe_now_ms() + ms);
}

/* ---- client callbacks --------------------------------------------------- */

static void on_open(struct rv_conn *conn, void *user)
{
	struct pclient *c = user;

	c->open = true;
}

static void on_message(struct rv_conn *conn, const char *text, size_t len, void *user)
{
	struct pclient *c = user;
	json_error_t jerr;
	struct pmsg *m;
	json_t *msg;

	if (c->on_raw) {
		c->on_raw(c, text, len);
		return;
	}
	msg = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!msg || !json_is_object(msg) || !json_is_string(json_object_get(msg, "type"))) {
		if (!c->broken)
			snprintf(c->broken_why, sizeof(c->broken_why),
				 "%s received %s: %.60s%s", c->name,
				 !msg ? "invalid JSON" : "a message without a string \"type\"",
				 text, len > 60 ? "..." : "");
		c->broken = true;
		json_decref(msg);
		return;
	}
	if (c->n_queued >= QUEUE_MAX) {
		json_decref(msg);
		return;
	}
	m = malloc(sizeof(*m));
	if (!m) {
		json_decref(msg);
		return;
	}
	m->msg = msg;
	m->at_ms = probe_now_ms();
	m->next = NULL;
	*c->tail = m;
	c->tail = &m->next;
	c->n_queued++;
}

static void on_close(struct rv_conn *conn, int code, int status, const char *reason, void *user)
{
	struct pclient *c = user;

	c->conn = NULL;
	c->open = false;
	c->ended = true;
	c->close_code = code;
	c->http_status = status;
	snprintf(c->end_reason, sizeof(c->end_reason), "%s", reason);
}

static const struct rv_conn_callbacks callbacks = { on_open, on_message, on_close };

/* ---- clients ------------------------------------------------------------ */

struct pclient *probe_client(struct probe *p, const char *name, const char *path)
{
	struct pclient *c = calloc(1, sizeof(*c));

	if (!c) {
		fprintf(stderr, "revenge-probe: out of memory\n");
		exit(1);
	}
	c->p = p;
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->tail = &c->head;
	c->next = p->clients;
	p->clients = c;
	return c;
}

static bool opened_or_ended(void *arg)
{
	struct pclient *c = arg;

	return c->open || c->ended;
}

static const char *describe_end(const struct pclient *c, char *buf, size_t len)
{
	if (c->http_status && c->end_reason[0] && strcmp(c->end_reason, "HTTP"))
		snprintf(buf, len, "the handshake was refused with HTTP %d: %s", c->http_status,
			 c->end_reason);
	else if (c->http_status)
		snprintf(buf, len, "the handshake was refused with HTTP %d", c->http_status);
	else if (strstr(c->end_reason, "certificate is not trusted"))
		snprintf(buf, len, "cannot connect (%s; give --ca FILE, or --insecure)",
			 c->end_reason);
	else if (c->close_code)
		snprintf(buf, len, "the server closed the connection (%d%s%s)", c->close_code,
			 c->end_reason[0] ? " " : "", c->end_reason);
	else
		snprintf(buf, len, "cannot connect (%s)", c->end_reason[0] ? c->end_reason :
			 "connection failed");
	return buf;
}

int pc_open(struct pclient *c, const char *origin)
{
	struct probe *p = c->p;
	struct rv_conn_options opts = { .origin = origin ? origin : p->origin,
					.token = p->token };
	struct rv_backoff bo = { 100, 2000, 0.5, (uint64_t)probe_now_ms() | 1 };
	double start = probe_now_ms();
	char url[4200], what[240];
	int err;

	snprintf(url, sizeof(url), "%s%s", p->url, c->path);
	for (unsigned attempt = 0;; attempt++) {
		c->ended = c->open = false;
		c->close_code = c->http_status = 0;
		c->end_reason[0] = 0;
		c->conn = rv_client_connect(p->cl, url, &opts, &callbacks, c, &err);
		if (!c->conn)
			snprintf(c->end_reason, sizeof(c->end_reason), "%s",
				 err == RV_EIO || err == RV_EADDR ? rv_client_last_error(p->cl)
								  : rv_strerror(err));
		else if (probe_run_until(p, opened_or_ended, c, probe_now_ms() + p->timeout_ms) &&
			 c->open)
			return 0;
		else if (!c->ended) {
			rv_conn_close(c->conn, 1000, "timeout");
			probe_fail(p, PX_TIMEOUT, "%s: no handshake from %s within %.0f ms", c->name,
				   url, p->timeout_ms);
			return p->status;
		}
		/* --wait: a deployment may still be starting; keep trying, ever
		 * less often, never all clients at once. */
		double delay = rv_backoff_delay(&bo, attempt);

		if (probe_now_ms() - start + delay > p->wait_ms)
			break;
		probe_sleep(p, delay);
	}
	probe_fail(p, PX_CONNECT, "%s: %s: %s", c->name, url, describe_end(c, what, sizeof(what)));
	return p->status;
}

int pc_send(struct pclient *c, const json_t *msg)
{
	char *text;
	int r;

	if (!c->conn || !c->open) {
		probe_fail(c->p, PX_CONNECT, "%s: cannot send: the connection has ended", c->name);
		return c->p->status;
	}
	text = json_dumps(msg, JSON_COMPACT);
	if (!text)
		return PX_FAILED;
	r = rv_conn_send(c->conn, text, strlen(text));
	free(text);
	return r ? PX_CONNECT : 0;
}

int pc_sendf(struct pclient *c, const char *type, json_t *payload, const char *id)
{
	json_t *m = json_object();
	int r;

	json_object_set_new(m, "type", json_string(type));
	if (payload)
		json_object_set_new(m, "payload", payload);
	if (id)
		json_object_set_new(m, "id", json_string(id));
	r = pc_send(c, m);
	json_decref(m);
	return r;
}

struct want {
	struct pclient *c;
	const char *type;
	pc_pred pred;
	void *arg;
	const char *reply_to;         /* non-NULL: an error with this id ends the
				       * wait too (found is then that error) */
	struct pmsg *found;           /* with prev link for removal */
	struct pmsg **found_at;
	size_t scanned;               /* queue entries already rejected */
	bool seen_type;
	char why[400];
};

/* Look through the queue past what was already rejected. */
static bool scan(void *arg)
{
	struct want *w = arg;
	struct pmsg **pp = &w->c->head;
	size_t i = 0;

	if (w->c->broken || w->c->ended)
		return true;
	for (; *pp; pp = &(*pp)->next, i++) {
		const char *t, *id;

		if (i < w->scanned)
			continue;
		w->scanned = i + 1;
		t = json_string_value(json_object_get((*pp)->msg, "type"));
		id = json_string_value(json_object_get((*pp)->msg, "id"));
		if (w->reply_to && !strcmp(t, "error") && id && !strcmp(id, w->reply_to)) {
			w->found = *pp;
			w->found_at = pp;
			return true;
		}
		if (strcmp(t, w->type))
			continue;
		w->seen_type = true;
		if (!w->pred || w->pred((*pp)->msg, w->arg, w->why, sizeof(w->why))) {
			w->found = *pp;
			w->found_at = pp;
			return true;
		}
	}
	return false;
}

static void unlink_found(struct want *w)
{
	struct pclient *c = w->c;

	*w->found_at = w->found->next;
	if (c->tail == &w->found->next)
		c->tail = w->found_at;
	c->n_queued--;
}

static json_t *expect(struct pclient *c, struct want *w, double within_ms, double *at_ms);

static bool reply_has_id(const json_t *m, void *arg, char *why, size_t len)
{
	const char *want = arg, *id = json_string_value(json_object_get(m, "id"));

	if (id && !strcmp(id, want))
		return true;
	snprintf(why, len, "reply carried id \"%s\", expected \"%s\"", id ? id : "", want);
	return false;
}

json_t *pc_expect_answer(struct pclient *c, const char *type, pc_pred pred, void *arg,
			 const char *id, const char *what, double within_ms, double *at_ms)
{
	struct want w = { .c = c, .type = type, .pred = pred, .arg = arg,
			  .reply_to = strcmp(type, "error") ? id : NULL };
	json_t *msg = expect(c, &w, within_ms, at_ms), *payload;
	const char *code, *text;

	if (!msg || !id || !strcmp(type, "error") ||
	    strcmp(json_string_value(json_object_get(msg, "type")), "error"))
		return msg;
	/* the server's answer is final: no use waiting out the timeout */
	payload = json_object_get(msg, "payload");
	code = json_string_value(json_object_get(payload, "code"));
	text = json_string_value(json_object_get(payload, "message"));
	probe_fail(c->p, PX_FAILED, "%s: error %s: %s", what, code ? code : "?", text ? text : "");
	json_decref(msg);
	return NULL;
}

json_t *pc_expect_reply(struct pclient *c, const char *type, const char *id, const char *what,
			double within_ms, double *at_ms)
{
	return pc_expect_answer(c, type, reply_has_id, (void *)id, id, what, within_ms, at_ms);
}

json_t *pc_expect(struct pclient *c, const char *type, pc_pred pred, void *arg,
		  double within_ms, double *at_ms)
{
	struct want w = { .c = c, .type = type, .pred = pred, .arg = arg };

	return expect(c, &w, within_ms, at_ms);
}

/* pc_expect with w set up: wait, unlink and return what was found, or
 * record why nothing was. */
static json_t *expect(struct pclient *c, struct want *wp, double within_ms, double *at_ms)
{
	struct probe *p = c->p;
	struct want w = *wp;
	const char *type = w.type;
	char what[240];
	json_t *msg;

	if (within_ms <= 0)
		within_ms = p->timeout_ms;
	probe_run_until(p, scan, &w, probe_now_ms() + within_ms);
	if (w.found) {
		msg = w.found->msg;
		if (at_ms)
			*at_ms = w.found->at_ms;
		unlink_found(&w);
		free(w.found);
		return msg;
	}
	if (c->broken)
		probe_fail(p, PX_PROTOCOL, "the server broke the protocol: %s", c->broken_why);
	else if (c->ended)
		probe_fail(p, PX_CONNECT, "%s: waiting for %s, %s", c->name, type,
			   describe_end(c, what, sizeof(what)));
	else if (w.seen_type)
		probe_fail(p, PX_FAILED, "%s", w.why[0] ? w.why : "unexpected message");
	else if (p->interrupted)
		probe_fail(p, PX_FAILED, "interrupted");
	else
		probe_fail(p, PX_TIMEOUT, "%s: no %s within %.0f ms", c->name, type, within_ms);
	return NULL;
}

json_t *pc_take(struct pclient *c, const char *type, double *at_ms)
{
	struct want w = { .c = c, .type = type };
	json_t *msg;

	if (!scan(&w) || !w.found)
		return NULL;
	unlink_found(&w);
	msg = w.found->msg;
	if (at_ms)
		*at_ms = w.found->at_ms;
	free(w.found);
	return msg;
}

int pc_expect_none(struct pclient *c, const char *type, pc_pred pred, void *arg,
		   double for_ms)
{
	struct probe *p = c->p;
	struct want w = { .c = c, .type = type, .pred = pred, .arg = arg };
	char *text;

	probe_run_until(p, scan, &w, probe_now_ms() + for_ms);
	if (c->broken) {
		probe_fail(p, PX_PROTOCOL, "the server broke the protocol: %s", c->broken_why);
		return p->status;
	}
	if (!w.found)
		return 0;
	text = json_dumps(w.found->msg, JSON_COMPACT);
	probe_fail(p, PX_FAILED, "%s: expected no %s for %.0f ms, got %.200s", c->name, type,
		   for_ms, text ? text : "?");
	free(text);
	return p->status;
}

static bool ended(void *arg)
{
	return ((struct pclient *)arg)->ended;
}

void pc_close(struct pclient *c)
{
	if (c->conn && !c->ended) {
		rv_conn_close(c->conn, 1000, "probe done");
		probe_run_until(c->p, ended, c, probe_now_ms() + 1000);
	}
}

void probe_close_all(struct probe *p)
{
	struct pclient *c;

	for (c = p->clients; c; c = c->next)
		if (c->conn && !c->ended)
			rv_conn_close(c->conn, 1000, "probe done");
	for (c = p->clients; c; c = c->next)
		if (c->conn && !c->ended)
			probe_run_until(p, ended, c, probe_now_ms() + 1000);
}

void probe_free_clients(struct probe *p)
{
	struct pclient *c, *next;

	for (c = p->clients; c; c = next) {
		struct pmsg *m, *mn;

		next = c->next;
		for (m = c->head; m; m = mn) {
			mn = m->next;
			json_decref(m->msg);
			free(m);
		}
		free(c);
	}
	p->clients = NULL;
}

/* ---- HTTP --------------------------------------------------------------- */

struct http_result {
	bool done;
	int status;
	char *body;
	size_t len;
	char reason[160];
};

static void http_done(int status, const char *body, size_t len, const char *reason, void *user)
{
	struct http_result *r = user;

	r->done = true;
	r->status = status;
	r->body = malloc(len + 1);
	if (r->body) {
		memcpy(r->body, body, len);
		r->body[len] = 0;
		r->len = len;
	}
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
}

static bool http_finished(void *arg)
{
	return ((struct http_result *)arg)->done;
}

/* One GET: the status, 0 when the request failed (reason in why). */
static int http_get_once(struct probe *p, const char *url, char **body, size_t *len,
			 char *why, size_t whylen, bool *timed_out)
{
	struct http_result *r = calloc(1, sizeof(*r));
	int status;

	*timed_out = false;
	if (!r || rv_client_http_get(p->cl, url, 4 << 20, http_done, r)) {
		snprintf(why, whylen, "cannot connect");
		free(r);
		return 0;
	}
	if (!probe_run_until(p, http_finished, r, probe_now_ms() + p->timeout_ms)) {
		/* r stays allocated: lws may still call back into it */
		*timed_out = true;
		snprintf(why, whylen, "no answer within %.0f ms", p->timeout_ms);
		return 0;
	}
	status = r->status;
	snprintf(why, whylen, "%s", r->reason[0] ? r->reason : "failed");
	*body = r->body;
	*len = r->len;
	free(r);
	return status;
}

int probe_http_get(struct probe *p, const char *path, char **body, size_t *len)
{
	struct rv_backoff bo = { 100, 2000, 0.5, (uint64_t)probe_now_ms() | 1 };
	double start = probe_now_ms();
	char url[4200], why[200];
	bool timed_out;
	int status;

	snprintf(url, sizeof(url), "%s%s", p->url, path);
	for (unsigned attempt = 0;; attempt++) {
		*body = NULL;
		*len = 0;
		status = http_get_once(p, url, body, len, why, sizeof(why), &timed_out);
		if (status || timed_out)
			break;
		/* a failed attempt's (empty) body is not the caller's */
		free(*body);
		*body = NULL;
		/* --wait covers a server still starting, as for WebSockets */
		double delay = rv_backoff_delay(&bo, attempt);

		if (probe_now_ms() - start + delay > p->wait_ms)
			break;
		probe_sleep(p, delay);
	}
	if (!status) {
		/* the request went over HTTP: say so, not the WebSocket scheme */
		bool tls = !strncmp(p->url, "wss://", 6);

		free(*body);
		*body = NULL;
		*len = 0;

		probe_fail(p, timed_out ? PX_TIMEOUT : PX_CONNECT, "GET %s%s: %s",
			   tls ? "https://" : "http://", url + (tls ? 6 : 5), why);
	}
	return status;
}
