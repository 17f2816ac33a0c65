/* lib/store_pg.c - the PostgreSQL backend of the store seam
 * (store_writer.h, --db postgres://...).
 *
 * One libpq connection in pipeline mode, non-blocking, its socket watched
 * by the server's own loop (ev_io): no thread and, once the server runs,
 * no blocking call. Every operation (a batch of writes, a read) is sent as
 * statements followed by a sync point; the statements between two sync
 * points are one implicit transaction, so a batch commits whole or not at
 * all, and its PGRES_PIPELINE_SYNC says the commit is done: only then is
 * it answered as stored. Operations wait in a FIFO in the order sent,
 * which is the order their answers come.
 *
 * At start the connection and the schema migrations are made with blocking
 * calls (nothing is served yet; a database that cannot be reached is a
 * clear error). When the connection is lost, every operation in flight is
 * answered as failed (never as stored: a commit whose answer was lost is
 * refused, which the client retries, never acked without one), writes and
 * reads are refused at once while it is away, and it reconnects with
 * backoff, asynchronously (PQconnectStart/PQconnectPoll).
 */
#include <ev.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/backoff.h"
#include "revenge/error.h"
#include "revenge/log.h"
#include "revenge/systime.h"

#include "conn.h"
#include "store_pg.h"
#include "store_watch.h"
#include "store_writer.h"

/* The connect timeout, at start and for each reconnect (a URI's own
 * connect_timeout wins at start). */
#define CONNECT_TIMEOUT_S 5
/* How long the shutdown waits for the last commit. */
#define DRAIN_TIMEOUT_MS 10000

enum pg_state { PG_DOWN, PG_CONNECTING, PG_UP };

enum op_type { OP_SETUP, OP_WRITE, OP_READ };

/* One operation sent, waiting for its sync point. */
struct op {
	enum op_type type;
	struct op *next;
	int err;
	char why[256];
	size_t res_i;                 /* results seen so far */
	uint64_t t0;
	/* write */
	struct rv__store_batch *b;
	size_t n_puts, n_trims;       /* statements of each sort, in this order */
	/* read */
	enum rv__store_item_kind kind;
	rv__store_read_cb *cb;
	void *arg;
	bool found;
	struct rv__store_item it;
};

struct pg_be {
	struct rv__store_backend be;
	struct rv__hub *hub;
	char *uri;
	PGconn *conn;
	enum pg_state state;
	ev_io io;
	ev_timer timer;               /* reconnect backoff, or connect timeout */
	struct rv_backoff backoff;
	unsigned attempt;
	struct op *head, *tail;       /* sent, in order */
	char lost[256];               /* why it is away */
	PGresult *parties;            /* the parties read at start, until taken */
};

static const char *const migrations[] = {
	/* 0 -> 1. Tables carry a revenge_ prefix: the database may well be
	 * the media server's own. */
	"CREATE TABLE revenge_progress("
	" owner text NOT NULL,"
	" session_id text NOT NULL,"
	" media_id text NOT NULL,"
	" position double precision NOT NULL,"
	" duration double precision,"
	" playing boolean NOT NULL,"
	" server_time double precision NOT NULL,"
	" PRIMARY KEY (owner, session_id));"
	"CREATE INDEX revenge_progress_seen ON revenge_progress(server_time);"
	"CREATE TABLE revenge_quality("
	" owner text NOT NULL,"
	" session_id text NOT NULL,"
	" profile text NOT NULL,"
	" updated_at double precision,"
	" PRIMARY KEY (owner, session_id));"
	"CREATE INDEX revenge_quality_seen ON revenge_quality(updated_at);",
	/* 1 -> 2: each watch party's state (--party-retention), one JSON
	 * document per party, and when it last had members (server ms). */
	"CREATE TABLE revenge_party("
	" party_id text PRIMARY KEY,"
	" doc text NOT NULL,"
	" seen double precision NOT NULL);",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == RV__STORE_PG_SCHEMA_VERSION,
	       "one migration per schema version");

enum { S_PUT_PROGRESS, S_PUT_QUALITY, S_GET_PROGRESS, S_GET_QUALITY, S_TRIM_PROGRESS,
       S_TRIM_QUALITY, S_EXPIRE_PROGRESS, S_EXPIRE_QUALITY, S_PUT_PARTY, S_DEL_PARTY,
       S__COUNT };

static const char *const stmt_name[S__COUNT] = {
	"rv_put_progress", "rv_put_quality", "rv_get_progress", "rv_get_quality",
	"rv_trim_progress", "rv_trim_quality", "rv_expire_progress", "rv_expire_quality",
	"rv_put_party", "rv_del_party",
};

static const char *const stmt_sql[S__COUNT] = {
	/* A batch's reports in one statement, from arrays (one element per
	 * session: its last report in the batch): one upsert per batch, not
	 * one per report. The newest by server time wins: two nodes that
	 * commit reports of one session at once leave the newer, whichever
	 * commits last (stamps agree across nodes: docs/architecture.md). */
	[S_PUT_PROGRESS] =
		"INSERT INTO revenge_progress(owner, session_id, media_id, position, duration,"
		" playing, server_time) SELECT * FROM unnest($1::text[], $2::text[], $3::text[],"
		" $4::float8[], $5::float8[], $6::bool[], $7::float8[])"
		" ON CONFLICT (owner, session_id) DO UPDATE SET media_id = excluded.media_id,"
		" position = excluded.position, duration = excluded.duration,"
		" playing = excluded.playing, server_time = excluded.server_time"
		" WHERE revenge_progress.server_time <= excluded.server_time",
	/* updated_at: unix ms at the write, as the SQLite store stamps it */
	[S_PUT_QUALITY] =
		"INSERT INTO revenge_quality(owner, session_id, profile, updated_at)"
		" VALUES ($1, $2, $3, extract(epoch from clock_timestamp()) * 1000)"
		" ON CONFLICT (owner, session_id) DO UPDATE SET profile = excluded.profile,"
		" updated_at = excluded.updated_at",
	[S_GET_PROGRESS] =
		"SELECT media_id, position, duration, playing, server_time"
		" FROM revenge_progress WHERE owner = $1 AND session_id = $2",
	[S_GET_QUALITY] =
		"SELECT profile FROM revenge_quality WHERE owner = $1 AND session_id = $2",
	/* Keep the owner's $2 most recently seen; a profile with no
	 * updated_at counts as the oldest, as in SQLite. */
	[S_TRIM_PROGRESS] =
		"DELETE FROM revenge_progress WHERE owner = $1 AND session_id IN"
		" (SELECT session_id FROM revenge_progress WHERE owner = $1"
		" ORDER BY server_time DESC, session_id DESC OFFSET $2)",
	[S_TRIM_QUALITY] =
		"DELETE FROM revenge_quality WHERE owner = $1 AND session_id IN"
		" (SELECT session_id FROM revenge_quality WHERE owner = $1"
		" ORDER BY updated_at DESC NULLS LAST, session_id DESC OFFSET $2)",
	[S_EXPIRE_PROGRESS] = "DELETE FROM revenge_progress WHERE server_time < $1",
	[S_EXPIRE_QUALITY] = "DELETE FROM revenge_quality WHERE updated_at < $1",
	[S_PUT_PARTY] =
		"INSERT INTO revenge_party(party_id, doc, seen) VALUES ($1, $2, $3)"
		" ON CONFLICT (party_id) DO UPDATE SET doc = excluded.doc, seen = excluded.seen",
	[S_DEL_PARTY] = "DELETE FROM revenge_party WHERE party_id = $1",
};

static void quiet_notices(void *arg, const char *msg)
{
}

/* libpq's messages end in a newline (and may span lines): one line. */
static void one_line(char *dst, size_t len, const char *prefix, const char *msg)
{
	char *p;

	char *q;

	snprintf(dst, len, "%s%s", prefix, msg && *msg ? msg : "unknown error");
	/* newlines and tabs become one space each run */
	for (p = q = dst; *p; p++) {
		bool blank = *p == '\n' || *p == '\r' || *p == '\t' || *p == ' ';

		if (blank && (q == dst || q[-1] == ' '))
			continue;
		*q++ = blank ? ' ' : *p;
	}
	while (q > dst && q[-1] == ' ')
		q--;
	*q = 0;
}

/* Replace each needle[0..nlen) in s with "with", which is no longer. */
static void replace_all(char *s, const char *needle, size_t nlen, const char *with)
{
	size_t wlen = strlen(with);
	char *p = s;

	while (nlen >= wlen && (p = memmem(p, strlen(p), needle, nlen))) {
		memcpy(p, with, wlen);
		memmove(p + wlen, p + nlen, strlen(p + nlen) + 1);
		p += wlen;
	}
}

/* libpq quotes the URI, or a part of it, in its parse errors: the
 * password never goes further than the caller's command line. */
void rv__store_pg_hide_uri(char *s, const char *uri)
{
	const char *user = strstr(uri, "://"), *at, *colon;

	replace_all(s, uri, strlen(uri), "<URI>");
	if (!user)
		return;
	user += 3;
	at = strchr(user, '@');
	colon = strchr(user, ':');
	if (at && colon && colon < at && at - colon > 1) {
		/* a password shorter than the mask is masked to its length */
		static const char stars[] = "***";
		size_t pw = (size_t)(at - colon - 1);

		replace_all(s, colon + 1, pw, stars + (pw < 3 ? 3 - pw : 0));
	}
}

void rv__store_pg_one_line(char *dst, size_t len, const char *prefix, const char *msg)
{
	one_line(dst, len, prefix, msg);
}

/* ---- start: blocking, before the loop serves anyone ---- */

PGconn *rv__store_pg_connect(const char *uri)
{
	const char *keys[] = { "connect_timeout", "dbname", NULL };
	const char *vals[] = { "5", uri, NULL };

	/* later keywords win: a connect_timeout in the URI overrides ours */
	return PQconnectdbParams(keys, vals, 1);
}

static int exec_ok(PGconn *conn, const char *sql, PGresult **keep, char *why, size_t why_len)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		one_line(why, why_len, "", PQresultErrorMessage(res));
		PQclear(res);
		return RV_EIO;
	}
	if (keep)
		*keep = res;
	else
		PQclear(res);
	return 0;
}

int rv__store_pg_migrate(PGconn *conn, int *version, char *why, size_t why_len)
{
	PGresult *res = NULL;
	char sql[128];
	int v = 0, err;

	/* One transaction, under an advisory lock: nodes starting together
	 * migrate once, the others then see the new version. */
	if ((err = exec_ok(conn, "BEGIN", NULL, why, why_len)))
		return err;
	if ((err = exec_ok(conn, "SELECT pg_advisory_xact_lock(7265766)", NULL, why, why_len)) ||
	    (err = exec_ok(conn, "SET LOCAL client_min_messages = warning", NULL, why, why_len)) ||
	    (err = exec_ok(conn, "CREATE TABLE IF NOT EXISTS revenge_schema_version("
			   " version integer NOT NULL)", NULL, why, why_len)) ||
	    (err = exec_ok(conn, "SELECT max(version) FROM revenge_schema_version", &res, why,
			   why_len)))
		goto fail;
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (v > N_MIGRATIONS) {
		snprintf(why, why_len, "the database's revenge schema is version %d, newer"
			 " than this build's %d: upgrade revenge-server", v, N_MIGRATIONS);
		err = RV_EIO;
		goto fail;
	}
	for (; v < N_MIGRATIONS; v++) {
		if ((err = exec_ok(conn, migrations[v], NULL, why, why_len)))
			goto fail;
		snprintf(sql, sizeof(sql), "DELETE FROM revenge_schema_version;"
			 " INSERT INTO revenge_schema_version VALUES (%d)", v + 1);
		if ((err = exec_ok(conn, sql, NULL, why, why_len)))
			goto fail;
	}
	if ((err = exec_ok(conn, "COMMIT", NULL, why, why_len)))
		return err;
	if (version)
		*version = v;
	return 0;
fail:
	PQclear(PQexec(conn, "ROLLBACK"));
	return err;
}

/* ---- the loop ---- */

/* The loop ends when its clients are gone (the drain): the backend's own
 * watchers must not keep it running, so each active one is unref'd. */
static void io_stop(struct pg_be *p)
{
	if (ev_is_active(&p->io)) {
		ev_ref(p->hub->loop);
		ev_io_stop(p->hub->loop, &p->io);
	}
}

static void io_start(struct pg_be *p)
{
	ev_io_start(p->hub->loop, &p->io);
	ev_unref(p->hub->loop);
}

static void timer_stop(struct pg_be *p)
{
	if (ev_is_active(&p->timer)) {
		ev_ref(p->hub->loop);
		ev_timer_stop(p->hub->loop, &p->timer);
	}
}

static void timer_start(struct pg_be *p, double after_s)
{
	timer_stop(p);
	ev_timer_set(&p->timer, after_s, 0);
	ev_timer_start(p->hub->loop, &p->timer);
	ev_unref(p->hub->loop);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void start_connect(struct pg_be *p);

static void watch(struct pg_be *p, int events)
{
	int fd = PQsocket(p->conn);

	if (ev_is_active(&p->io) && p->io.fd == fd && (p->io.events & (EV_READ | EV_WRITE)) == events)
		return;
	io_stop(p);
	if (fd < 0)
		return;
	ev_io_set(&p->io, fd, events);
	io_start(p);
}

/* Send what libpq holds; watch for writability while some is left. */
static int flush(struct pg_be *p)
{
	int r = PQflush(p->conn);

	if (r < 0)
		return RV_EIO;
	watch(p, EV_READ | (r ? EV_WRITE : 0));
	return 0;
}

static struct op *op_new(struct pg_be *p, enum op_type type)
{
	struct op *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->type = type;
	o->t0 = rv_time_mono_ns();
	return o;
}

static void op_push(struct pg_be *p, struct op *o)
{
	if (p->tail)
		p->tail->next = o;
	else
		p->head = o;
	p->tail = o;
}

/* Answer o (popped already) and free it. */
static void op_answer(struct pg_be *p, struct op *o)
{
	switch (o->type) {
	case OP_SETUP:
		if (!o->err && p->attempt) {
			rv__store_watch_ok(p->hub);
			rv_log(p->hub->log, RV_LOG_INFO, "store_connected",
			       "PostgreSQL: connected again after %u attempt(s)", p->attempt);
			p->attempt = 0;
		}
		break;
	case OP_WRITE:
		o->b->err = o->err;
		snprintf(o->b->why, sizeof(o->b->why), "%s", o->why);
		if (o->err)
			o->b->expired = o->b->trimmed = 0;
		o->b->took_s = (double)(rv_time_mono_ns() - o->t0) / 1e9;
		p->be.written(p->be.w);
		break;
	case OP_READ:
		if (o->err)
			rv__store_watch_failed(p->hub, RV_STORE_OP_READ, o->it.rec.session_id,
					       o->why);
		o->cb(o->arg, o->err ? RV_EIO : o->found ? 0 : RV_ENOENT, &o->it);
		break;
	}
	free(o);
}

/* The connection is gone: answer everything in flight as failed, then
 * come back later. */
static void lose(struct pg_be *p, const char *why)
{
	struct op *o, *list = p->head;
	char was[256];

	snprintf(was, sizeof(was), "%s", why);     /* why may be p->lost */
	one_line(p->lost, sizeof(p->lost), "the database connection was lost: ", was);
	rv_log(p->hub->log, RV_LOG_ERROR, "store_lost", "PostgreSQL: %s; reconnecting", p->lost);
	io_stop(p);
	timer_stop(p);
	PQfinish(p->conn);
	p->conn = NULL;
	p->state = PG_DOWN;
	p->head = p->tail = NULL;
	/* state first: an answer may hand in the next batch, which is then
	 * refused at once rather than sent on a dead connection */
	while ((o = list)) {
		list = o->next;
		if (!o->err) {
			o->err = RV_EIO;
			snprintf(o->why, sizeof(o->why), "%s", p->lost);
		}
		op_answer(p, o);
	}
	rv__store_watch_failed(p->hub, RV_STORE_OP_WRITE_PROGRESS, "connection", p->lost);
	start_connect(p);
}

static void on_result(struct pg_be *p, struct op *o, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	size_t i = o->res_i++;

	switch (st) {
	case PGRES_FATAL_ERROR:
		if (!o->err) {
			o->err = RV_EIO;
			one_line(o->why, sizeof(o->why), "", PQresultErrorMessage(res));
		}
		break;
	case PGRES_PIPELINE_ABORTED:
		if (!o->err) {
			o->err = RV_EIO;
			snprintf(o->why, sizeof(o->why), "the transaction was aborted");
		}
		break;
	case PGRES_TUPLES_OK:
		if (o->type == OP_READ && PQntuples(res) == 1) {
			o->found = true;
			if (o->kind == RV__STORE_ITEM_PROGRESS) {
				struct rv_progress_rec *r = &o->it.rec;

				snprintf(r->media_id, sizeof(r->media_id), "%s",
					 PQgetvalue(res, 0, 0));
				r->position = strtod(PQgetvalue(res, 0, 1), NULL);
				r->has_duration = !PQgetisnull(res, 0, 2);
				r->duration = r->has_duration ? strtod(PQgetvalue(res, 0, 2), NULL)
							      : 0;
				r->playing = PQgetvalue(res, 0, 3)[0] == 't';
				r->server_time = strtod(PQgetvalue(res, 0, 4), NULL);
			} else {
				/* longer than any profile: no profile of ours */
				if (strlen(PQgetvalue(res, 0, 0)) >= sizeof(o->it.profile))
					o->found = false;
				else
					snprintf(o->it.profile, sizeof(o->it.profile), "%s",
						 PQgetvalue(res, 0, 0));
			}
		}
		break;
	case PGRES_COMMAND_OK:
		if (o->type == OP_WRITE && i >= o->n_puts) {
			uint64_t n = strtoull(PQcmdTuples(res), NULL, 10);

			if (i < o->n_puts + o->n_trims)
				o->b->trimmed += n;
			else
				o->b->expired += n;
		}
		break;
	default:
		break;
	}
}

/* Take every result that has arrived. */
static void drain_results(struct pg_be *p)
{
	unsigned nulls = 0;

	while (p->conn && p->head && !PQisBusy(p->conn)) {
		PGresult *res = PQgetResult(p->conn);
		struct op *o = p->head;

		if (!res) {
			/* between two statements' results; two in a row: nothing
			 * more has come */
			if (++nulls > 1)
				break;
			continue;
		}
		nulls = 0;
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			p->head = o->next;
			if (!p->head)
				p->tail = NULL;
			if (o->type == OP_SETUP && o->err) {
				char why[300];

				snprintf(why, sizeof(why), "%s", o->why);
				free(o);
				lose(p, why);
				return;
			}
			op_answer(p, o);
			continue;
		}
		on_result(p, o, res);
		PQclear(res);
	}
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pg_be *p = w->data;

	if (revents & EV_CUSTOM) {
		/* a send failed (pg_write, pg_read): the pipeline is lost */
		if (p->state == PG_UP)
			lose(p, p->lost);
		return;
	}
	if (p->state == PG_CONNECTING) {
		start_connect(p);
		return;
	}
	if ((revents & EV_WRITE) && flush(p)) {
		lose(p, PQerrorMessage(p->conn));
		return;
	}
	if (revents & EV_READ) {
		if (!PQconsumeInput(p->conn)) {
			lose(p, PQerrorMessage(p->conn));
			return;
		}
		drain_results(p);
		if (p->conn && PQstatus(p->conn) == CONNECTION_BAD)
			lose(p, PQerrorMessage(p->conn));
	}
}

/* The prepared statements, as the first operation of a connection. */
static int send_setup(struct pg_be *p)
{
	struct op *o = op_new(p, OP_SETUP);

	if (!o)
		return RV_ENOMEM;
	for (int i = 0; i < S__COUNT; i++)
		if (!PQsendPrepare(p->conn, stmt_name[i], stmt_sql[i], 0, NULL)) {
			free(o);
			return RV_EIO;
		}
	if (!PQpipelineSync(p->conn)) {
		free(o);
		return RV_EIO;
	}
	op_push(p, o);
	return 0;
}

/* A connection that works, made ready for the pipeline. */
static int go_up(struct pg_be *p)
{
	PQsetNoticeProcessor(p->conn, quiet_notices, NULL);
	if (PQsetnonblocking(p->conn, 1) || !PQenterPipelineMode(p->conn) || send_setup(p) ||
	    flush(p))
		return RV_EIO;
	p->state = PG_UP;
	return 0;
}

static void retry_later(struct pg_be *p);

static void timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct pg_be *p = t->data;

	/* a one-shot timer stops itself when it fires: give back the
	 * reference timer_start took away (libev's ev_unref rule) */
	ev_ref(loop);
	if (p->state == PG_CONNECTING) {
		/* PQconnectPoll has no timeout of its own */
		PQfinish(p->conn);
		p->conn = NULL;
		p->state = PG_DOWN;
		snprintf(p->lost, sizeof(p->lost), "the database did not answer within %d s",
			 CONNECT_TIMEOUT_S);
		retry_later(p);
		return;
	}
	start_connect(p);
}

static void retry_later(struct pg_be *p)
{
	double ms = rv_backoff_delay(&p->backoff, p->attempt++);

	io_stop(p);
	timer_stop(p);
	timer_start(p, ms / 1000.0);
}

/* One step of the reconnection: start it when down, else poll it. */
static void start_connect(struct pg_be *p)
{
	PostgresPollingStatusType ps;

	if (p->state == PG_DOWN && !ev_is_active(&p->timer) && p->attempt == 0) {
		/* the first attempt waits a little too: a restart of the
		 * database needs a moment */
		retry_later(p);
		return;
	}
	if (p->state == PG_DOWN) {
		const char *keys[] = { "dbname", NULL };
		const char *vals[] = { p->uri, NULL };

		if (ev_is_active(&p->timer))
			return;       /* waiting out the backoff */
		p->conn = PQconnectStartParams(keys, vals, 1);
		if (!p->conn || PQstatus(p->conn) == CONNECTION_BAD) {
			one_line(p->lost, sizeof(p->lost), "",
				 p->conn ? PQerrorMessage(p->conn) : "out of memory");
			rv__store_pg_hide_uri(p->lost, p->uri);
			PQfinish(p->conn);
			p->conn = NULL;
			retry_later(p);
			return;
		}
		p->state = PG_CONNECTING;
		timer_start(p, CONNECT_TIMEOUT_S);
	}
	ps = PQconnectPoll(p->conn);
	switch (ps) {
	case PGRES_POLLING_READING:
		watch(p, EV_READ);
		return;
	case PGRES_POLLING_WRITING:
		watch(p, EV_WRITE);
		return;
	case PGRES_POLLING_OK:
		timer_stop(p);
		if (!go_up(p))
			return;
		/* fall through */
	default:
		one_line(p->lost, sizeof(p->lost), "", PQerrorMessage(p->conn));
		rv__store_pg_hide_uri(p->lost, p->uri);
		io_stop(p);
		timer_stop(p);
		PQfinish(p->conn);
		p->conn = NULL;
		p->state = PG_DOWN;
		retry_later(p);
	}
}

static int send_params(struct pg_be *p, int stmt, int n, const char *const *vals)
{
	return PQsendQueryPrepared(p->conn, stmt_name[stmt], n, vals, NULL, NULL, 0) ? 0 : RV_EIO;
}

/* Owners that got a session in this batch, for the cap. */
static bool seen_owner(const struct rv__store_batch *b, size_t upto, const char *owner)
{
	for (size_t i = 0; i < upto; i++) {
		const struct rv__store_item *it = &b->items[i];

		if ((it->new_session || it->kind == RV__STORE_ITEM_QUALITY) &&
		    !strcmp(it->rec.owner, owner))
			return true;
	}
	return false;
}

/* A PostgreSQL array literal, grown as elements are added. */
struct arr {
	char *s;
	size_t n, cap;
	bool oom;
};

static void arr_put(struct arr *a, const char *text, size_t len)
{
	if (a->n + len + 2 > a->cap) {
		size_t cap = (a->cap ? a->cap * 2 : 256) + len;
		char *ns = realloc(a->s, cap);

		if (!ns) {
			a->oom = true;
			return;
		}
		a->s = ns;
		a->cap = cap;
	}
	memcpy(a->s + a->n, text, len);
	a->n += len;
	a->s[a->n] = 0;
}

/* Add one element: quoted (strings), or as it is (numbers, t/f, NULL). */
static void arr_add(struct arr *a, const char *v, bool quote)
{
	arr_put(a, a->n ? "," : "{", 1);
	if (!quote) {
		arr_put(a, v, strlen(v));
		return;
	}
	arr_put(a, "\"", 1);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			arr_put(a, "\\", 1);
		arr_put(a, v, 1);
	}
	arr_put(a, "\"", 1);
}

static void arr_num(struct arr *a, double v)
{
	char t[32];

	snprintf(t, sizeof(t), "%.17g", v);
	arr_add(a, t, false);
}

static bool other_session(const struct rv__store_item *a, const struct rv__store_item *b)
{
	return strcmp(a->rec.owner, b->rec.owner) || strcmp(a->rec.session_id, b->rec.session_id);
}

static int by_session(const void *x, const void *y)
{
	const struct rv__store_item *a = *(const struct rv__store_item *const *)x;
	const struct rv__store_item *b = *(const struct rv__store_item *const *)y;
	int c = strcmp(a->rec.owner, b->rec.owner);

	if (!c)
		c = strcmp(a->rec.session_id, b->rec.session_id);
	/* the same session: the later report last */
	return c ? c : a < b ? -1 : a > b;
}

/* The batch's reports as one upsert: each session's last report. */
static int send_progress(struct pg_be *p, struct rv__store_batch *b, size_t *sent)
{
	const struct rv__store_item **v = malloc((b->n ? b->n : 1) * sizeof(*v));
	struct arr a[7] = { { 0 } };
	const char *vals[7];
	size_t n = 0;
	int err = 0;

	*sent = 0;
	if (!v)
		return RV_ENOMEM;
	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].kind == RV__STORE_ITEM_PROGRESS)
			v[n++] = &b->items[i];
	qsort(v, n, sizeof(*v), by_session);
	for (size_t i = 0; i < n; i++) {
		const struct rv_progress_rec *r = &v[i]->rec;

		if (i + 1 < n && !other_session(v[i], v[i + 1]))
			continue;             /* a later report of it follows */
		arr_add(&a[0], r->owner, true);
		arr_add(&a[1], r->session_id, true);
		arr_add(&a[2], r->media_id, true);
		arr_num(&a[3], r->position);
		if (r->has_duration)
			arr_num(&a[4], r->duration);
		else
			arr_add(&a[4], "NULL", false);
		arr_add(&a[5], r->playing ? "t" : "f", false);
		arr_num(&a[6], r->server_time);
	}
	for (int k = 0; k < 7; k++) {
		arr_put(&a[k], "}", 1);
		if (a[k].oom)
			err = RV_ENOMEM;
		vals[k] = a[k].s;
	}
	if (!err && n) {
		err = send_params(p, S_PUT_PROGRESS, 7, vals);
		*sent = 1;
	}
	for (int k = 0; k < 7; k++)
		free(a[k].s);
	free(v);
	return err;
}

static int send_batch(struct pg_be *p, struct op *o, struct rv__store_batch *b, unsigned max)
{
	char cap[16], before[32];
	int err = send_progress(p, b, &o->n_puts);

	for (size_t i = 0; !err && i < b->n; i++) {
		const struct rv__store_item *it = &b->items[i];
		const char *v[3] = { it->rec.owner, it->rec.session_id, it->profile };

		if (it->kind != RV__STORE_ITEM_QUALITY)
			continue;
		err = send_params(p, S_PUT_QUALITY, 3, v);
		o->n_puts++;
	}
	for (size_t i = 0; !err && i < b->n; i++) {
		const struct rv__store_item *it = &b->items[i];
		char seen[32];
		const char *v[3] = { it->rec.session_id, it->doc, seen };

		if (it->kind != RV__STORE_ITEM_PARTY)
			continue;
		snprintf(seen, sizeof(seen), "%.17g", it->rec.server_time);
		err = it->doc ? send_params(p, S_PUT_PARTY, 3, v) : send_params(p, S_DEL_PARTY, 1, v);
		o->n_puts++;
	}
	snprintf(cap, sizeof(cap), "%u", max);
	/* Only a session the store may not have yet can take its owner past
	 * the cap (store_sqlite_backend.c says the same). */
	for (size_t i = 0; !err && max && i < b->n; i++) {
		const struct rv__store_item *it = &b->items[i];
		const char *v[2] = { it->rec.owner, cap };

		if (!(it->new_session || it->kind == RV__STORE_ITEM_QUALITY) ||
		    seen_owner(b, i, it->rec.owner))
			continue;
		err = send_params(p, S_TRIM_PROGRESS, 2, v);
		if (!err)
			err = send_params(p, S_TRIM_QUALITY, 2, v);
		o->n_trims += 2;
	}
	if (!err && b->expire_before_ms > 0) {
		const char *v[1] = { before };

		snprintf(before, sizeof(before), "%.17g", b->expire_before_ms);
		err = send_params(p, S_EXPIRE_PROGRESS, 1, v);
		if (!err)
			err = send_params(p, S_EXPIRE_QUALITY, 1, v);
	}
	if (!err && !PQpipelineSync(p->conn))
		err = RV_EIO;
	return err;
}

static int pg_write(struct rv__store_backend *be, struct rv__store_batch *b, unsigned max)
{
	struct pg_be *p = (struct pg_be *)be;
	struct op *o;

	if (p->state != PG_UP) {
		b->err = RV_EIO;
		snprintf(b->why, sizeof(b->why), "%s", p->lost[0] ? p->lost :
			 "the database is not connected");
		return RV_EIO;
	}
	if (!(o = op_new(p, OP_WRITE))) {
		b->err = RV_ENOMEM;
		snprintf(b->why, sizeof(b->why), "out of memory");
		return RV_ENOMEM;
	}
	o->b = b;
	/* A send that fails leaves the pipeline in an unknown state: the
	 * connection goes, and with it (lose) this batch, answered later. */
	op_push(p, o);
	if (send_batch(p, o, b, max) || flush(p)) {
		one_line(p->lost, sizeof(p->lost), "", PQerrorMessage(p->conn));
		rv__store_pg_hide_uri(p->lost, p->uri);
		/* lose answers o through written: not from inside write */
		ev_feed_event(p->hub->loop, &p->io, EV_CUSTOM);
	}
	return 0;
}

static void pg_read(struct rv__store_backend *be, enum rv__store_item_kind kind,
		    const char *owner, const char *session_id, rv__store_read_cb *cb, void *arg)
{
	struct pg_be *p = (struct pg_be *)be;
	const char *v[2] = { owner, session_id };
	struct op *o = NULL;

	if (p->state == PG_UP && (o = op_new(p, OP_READ))) {
		o->kind = kind;
		o->cb = cb;
		o->arg = arg;
		o->it.kind = kind;
		snprintf(o->it.rec.owner, sizeof(o->it.rec.owner), "%s", owner);
		snprintf(o->it.rec.session_id, sizeof(o->it.rec.session_id), "%s", session_id);
		op_push(p, o);
		if (!send_params(p, kind == RV__STORE_ITEM_PROGRESS ? S_GET_PROGRESS : S_GET_QUALITY,
				 2, v) && PQpipelineSync(p->conn) && !flush(p))
			return;
		/* answered with the rest when the connection goes */
		one_line(p->lost, sizeof(p->lost), "", PQerrorMessage(p->conn));
		rv__store_pg_hide_uri(p->lost, p->uri);
		ev_feed_event(p->hub->loop, &p->io, EV_CUSTOM);
		return;
	}
	rv__store_watch_failed(p->hub, RV_STORE_OP_READ, session_id,
			       p->lost[0] ? p->lost : "the database is not connected");
	cb(arg, RV_EIO, NULL);
}

/* Shutdown: wait (bounded) for the answers of what is in flight. */
static void pg_drain(struct rv__store_backend *be)
{
	struct pg_be *p = (struct pg_be *)be;
	uint64_t until = rv_time_mono_ns() + (uint64_t)DRAIN_TIMEOUT_MS * 1000000;

	while (p->state == PG_UP && p->head) {
		struct pollfd pfd = { PQsocket(p->conn), POLLIN, 0 };
		int r = PQflush(p->conn);
		uint64_t now = rv_time_mono_ns();

		if (r > 0)
			pfd.events |= POLLOUT;
		if (r < 0 || now >= until) {
			lose(p, r < 0 ? PQerrorMessage(p->conn) : "no answer at shutdown");
			break;
		}
		if (poll(&pfd, 1, (int)((until - now) / 1000000) + 1) < 0)
			continue;
		if (!PQconsumeInput(p->conn)) {
			lose(p, PQerrorMessage(p->conn));
			break;
		}
		drain_results(p);
	}
	/* down: lose has answered everything; a write's answer is given */
}

/* The parties read at start (before the pipeline), handed over once. */
static int pg_load_parties(struct rv__store_backend *be, rv_store_party_cb *cb, void *arg)
{
	struct pg_be *p = (struct pg_be *)be;

	for (int i = 0; p->parties && i < PQntuples(p->parties); i++)
		cb(arg, PQgetvalue(p->parties, i, 0), PQgetvalue(p->parties, i, 1),
		   strtod(PQgetvalue(p->parties, i, 2), NULL));
	PQclear(p->parties);
	p->parties = NULL;
	return 0;
}

static void pg_free(struct rv__store_backend *be)
{
	struct pg_be *p = (struct pg_be *)be;
	struct op *o;

	PQclear(p->parties);
	io_stop(p);
	timer_stop(p);
	ev_clear_pending(p->hub->loop, &p->io);
	while ((o = p->head)) {
		p->head = o->next;
		free(o);
	}
	PQfinish(p->conn);
	free(p->uri);
	free(p);
}

static const struct rv__store_backend_ops pg_ops = {
	.name = "postgres",
	.write = pg_write,
	.read = pg_read,
	.drain = pg_drain,
	.free = pg_free,
	.load_parties = pg_load_parties,
};

int rv__store_pg_backend_new(struct rv__hub *hub, const char *uri,
			     struct rv__store_backend **out, char *why, size_t why_len)
{
	struct pg_be *p = calloc(1, sizeof(*p));
	char mwhy[256];
	int err;

	if (!p || !(p->uri = strdup(uri))) {
		free(p);
		snprintf(why, why_len, "store: out of memory");
		return RV_ENOMEM;
	}
	p->be.ops = &pg_ops;
	p->hub = hub;
	p->backoff = (struct rv_backoff){ .base_ms = 100, .max_ms = 5000, .jitter = 0.5,
					  .rng = rv_time_mono_ns() | 1 };
	ev_init(&p->io, io_cb);
	p->io.data = p;
	ev_init(&p->timer, timer_cb);
	p->timer.data = p;
	p->conn = rv__store_pg_connect(uri);
	if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
		one_line(why, why_len, "--db: cannot reach PostgreSQL: ",
			 p->conn ? PQerrorMessage(p->conn) : "out of memory");
		rv__store_pg_hide_uri(why, uri);
		pg_free(&p->be);
		return RV_EIO;
	}
	PQsetNoticeProcessor(p->conn, quiet_notices, NULL);
	if ((err = rv__store_pg_migrate(p->conn, NULL, mwhy, sizeof(mwhy))) ||
	    (err = exec_ok(p->conn, "SELECT party_id, doc, seen FROM revenge_party"
			   " ORDER BY seen, party_id", &p->parties, mwhy, sizeof(mwhy)))) {
		snprintf(why, why_len, "--db: %s", mwhy);
		pg_free(&p->be);
		return err;
	}
	if (go_up(p)) {
		one_line(why, why_len, "--db: PostgreSQL: ", PQerrorMessage(p->conn));
		rv__store_pg_hide_uri(why, uri);
		pg_free(&p->be);
		return RV_EIO;
	}
	*out = &p->be;
	return 0;
}
