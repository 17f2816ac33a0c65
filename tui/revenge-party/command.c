/* tui/revenge-party/command.c - what a line typed into revenge-party means
 * (see command.h).
 *
 * Owns the commands: a typed line becomes a struct tm_cmd, and a command
 * becomes the JSON to send, built from the model as it stands (who hosts,
 * where playback is now). Also the clock text people type and read
 * ("1:23:45"). Like the model it never draws, reads a clock or touches a
 * socket; it only reads the model, never changes it.
 */
#include "command.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

const char *const tm_command_names[] = {
	"/play", "/pause", "/seek", "/speed", "/react", "/host", "/start", "/members",
	"/help", "/quit", NULL,
};

static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	tm__vformat(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- clock text ------------------------------------------------------- */

/* Digits from *p (at most max of them) into *v; the count, 0 if none. */
static size_t digits(const char **p, size_t max, double *v)
{
	size_t n = 0;

	*v = 0;
	while (**p >= '0' && **p <= '9') {
		if (++n > max)
			return 0;
		*v = *v * 10 + (**p - '0');
		(*p)++;
	}
	return n;
}

/* "D[.D]" with no sign, locale-free (the terminal UI sets a locale, and
 * strtod would then want a decimal comma in some). -1 when malformed. */
static double parse_decimal(const char *s)
{
	double v, frac;
	const char *p = s, *f;
	size_t n = digits(&p, 9, &v);

	if (*p == '.') {
		f = ++p;
		if (!digits(&p, 9, &frac))
			return -1;
		v += frac / pow(10, (double)(p - f));
	} else if (!n) {
		return -1;
	}
	return *p ? -1 : v;
}

double tm_parse_clock(const char *s)
{
	double part, total = 0;
	const char *p = s;
	int n = 0;

	if (!s)
		return -1;
	for (;;) {
		/* The leading field is unbounded (90:00 is 90 minutes); the
		 * others are two digits below 60, as on a clock. */
		size_t nd = digits(&p, n ? 2 : 9, &part);

		if (!nd || (n && (nd != 2 || part >= 60)))
			return -1;
		total = total * 60 + part;
		n++;
		if (*p == '.') {
			double frac = parse_decimal(p);

			return frac < 0 ? -1 : total + frac;
		}
		if (*p == '\0')
			return total;
		if (*p != ':' || n == 3)
			return -1;
		p++;
	}
}

/* ---- typed commands --------------------------------------------------- */

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static int parse_chat(const char *text, size_t len, struct tm_cmd *cmd,
		      char *err, size_t errlen)
{
	size_t i = 0;

	while (i < len && blank(text[i]))
		i++;
	if (i == len) {
		seterr(err, errlen, "empty message");
		return -1;
	}
	if (len > RV_CHAT_MAX) {
		seterr(err, errlen, "message too long (%zu bytes, max %d)", len, RV_CHAT_MAX);
		return -1;
	}
	if (!rv_utf8_valid(text, len)) {
		seterr(err, errlen, "message is not valid UTF-8");
		return -1;
	}
	cmd->kind = TM_CMD_CHAT;
	memcpy(cmd->text, text, len);
	cmd->text[len] = '\0';
	return 0;
}

enum { ARG_NONE, ARG_NEEDED };

static const struct {
	const char *name;
	enum tm_cmd_kind kind;
	int arg;
	const char *usage;
} commands[] = {
	{ "play", TM_CMD_PLAY, ARG_NONE, "/play" },
	{ "pause", TM_CMD_PAUSE, ARG_NONE, "/pause" },
	{ "seek", TM_CMD_SEEK, ARG_NEEDED,
	  "/seek TIME, +SECONDS or -SECONDS (TIME as 1:23:45, 23:45 or 45)" },
	{ "speed", TM_CMD_SPEED, ARG_NEEDED, "/speed RATE (0.25 to 4)" },
	{ "react", TM_CMD_REACT, ARG_NEEDED, "/react EMOJI" },
	{ "host", TM_CMD_HOST, ARG_NEEDED, "/host NAME" },
	{ "start", TM_CMD_START, ARG_NONE, "/start" },
	{ "members", TM_CMD_MEMBERS, ARG_NONE, "/members" },
	{ "help", TM_CMD_HELP, ARG_NONE, "/help" },
	{ "quit", TM_CMD_QUIT, ARG_NONE, "/quit" },
};

static int parse_arg(struct tm_cmd *cmd, const char *arg, size_t len,
		     char *err, size_t errlen)
{
	double v;

	switch (cmd->kind) {
	case TM_CMD_SEEK:
		cmd->relative = arg[0] == '+' || arg[0] == '-';
		v = tm_parse_clock(arg + cmd->relative);
		if (v < 0) {
			seterr(err, errlen, "bad time \"%s\" (try 1:23:45, 23:45, 45, +30 or -10)",
			       arg);
			return -1;
		}
		cmd->value = arg[0] == '-' ? -v : v;
		return 0;
	case TM_CMD_SPEED:
		/* "1.5x" reads as players print it. */
		if (len > 1 && (arg[len - 1] == 'x' || arg[len - 1] == 'X')) {
			char num[32];

			if (len > sizeof(num))
				goto bad_speed;
			memcpy(num, arg, len - 1);
			num[len - 1] = '\0';
			v = parse_decimal(num);
		} else {
			v = parse_decimal(arg);
		}
		if (v < 0)
			goto bad_speed;
		if (v < RV_SPEED_MIN || v > RV_SPEED_MAX) {
			seterr(err, errlen, "speed must be between 0.25 and 4");
			return -1;
		}
		cmd->value = v;
		return 0;
	case TM_CMD_REACT:
		if (len > RV_EMOJI_MAX) {
			seterr(err, errlen, "reaction too long (%zu bytes, max %d)", len,
			       RV_EMOJI_MAX);
			return -1;
		}
		break;
	case TM_CMD_HOST:
		if (len > RV_NAME_MAX_BYTES) {
			seterr(err, errlen, "no member named %s", arg);
			return -1;
		}
		break;
	default:
		return 0;
	}
	if (!rv_utf8_valid(arg, len)) {
		seterr(err, errlen, "not valid UTF-8");
		return -1;
	}
	memcpy(cmd->text, arg, len);
	cmd->text[len] = '\0';
	return 0;
bad_speed:
	seterr(err, errlen, "bad speed \"%s\" (try 1.25)", arg);
	return -1;
}

int tm_parse_command(const char *line, struct tm_cmd *cmd, char *err, size_t errlen)
{
	char arg[TM_TEXT_MAX + 1];
	const char *word, *a;
	size_t len, wlen, alen;

	memset(cmd, 0, sizeof(*cmd));
	seterr(err, errlen, "%s", "");
	if (!line) {
		seterr(err, errlen, "no input");
		return -1;
	}
	len = strlen(line);
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len == 0)
		return 0;               /* TM_CMD_NONE: an empty line does nothing */
	if (line[0] != '/')
		return parse_chat(line, len, cmd, err, errlen);
	if (len > 1 && line[1] == '/')
		return parse_chat(line + 1, len - 1, cmd, err, errlen);

	word = line + 1;
	for (wlen = 0; 1 + wlen < len && !blank(word[wlen]); wlen++)
		;
	a = word + wlen;
	alen = len - 1 - wlen;
	while (alen && blank(*a)) {
		a++;
		alen--;
	}
	while (alen && blank(a[alen - 1]))
		alen--;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strlen(commands[i].name) != wlen ||
		    memcmp(commands[i].name, word, wlen) != 0)
			continue;
		if (commands[i].arg == ARG_NONE && alen) {
			seterr(err, errlen, "/%s takes no argument", commands[i].name);
			return -1;
		}
		if (commands[i].arg == ARG_NEEDED && !alen) {
			seterr(err, errlen, "usage: %s", commands[i].usage);
			return -1;
		}
		cmd->kind = commands[i].kind;
		if (alen > TM_TEXT_MAX) {
			seterr(err, errlen, "argument too long");
			goto fail;
		}
		memcpy(arg, a, alen);
		arg[alen] = '\0';
		if (parse_arg(cmd, arg, alen, err, errlen) < 0)
			goto fail;
		return 0;
	}
	memcpy(arg, word, wlen < 40 ? wlen : 40);
	arg[rv_utf8_cut(word, wlen, 40)] = '\0';
	seterr(err, errlen, "unknown command /%s (try /help)", arg);
fail:
	memset(cmd, 0, sizeof(*cmd));
	return -1;
}

/* What a member is told a host-only command would have done. */
static const char *verb(const struct tm_model *m, enum tm_cmd_kind kind)
{
	switch (kind) {
	case TM_CMD_PLAY:
		return "play";
	case TM_CMD_PAUSE:
		return "pause";
	case TM_CMD_TOGGLE:
		return m->state.playing ? "pause" : "play";
	case TM_CMD_SEEK:
		return "seek";
	case TM_CMD_SPEED:
		return "change the speed";
	case TM_CMD_START:
		return "start";
	default:
		return "hand over";
	}
}

/* Whether two or more present members are called name. */
static bool name_shared(const struct tm_model *m, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_members; i++)
		if (strcmp(m->members[i].name, name) == 0)
			n++;
	return n > 1;
}

static bool host_only(const struct tm_model *m, enum tm_cmd_kind kind,
		      char *err, size_t errlen)
{
	const char *host = tm_host_name(m);

	if (!m->joined) {
		seterr(err, errlen, "not in the party yet");
		return false;
	}
	if (tm_is_host(m))
		return true;
	if (host[0])
		seterr(err, errlen, "only the host (%s) can %s", host, verb(m, kind));
	else if (!m->host_id[0])
		seterr(err, errlen, "the party has no host, so nobody can %s",
		       verb(m, kind));
	else
		seterr(err, errlen, "only the host can %s", verb(m, kind));
	return false;
}

/* The host's sync for a playback command: the state now, as extrapolated,
 * with the command applied and stamped with the estimated server time. It
 * carries an id so the server sends the stamped state back to the host
 * too (it relays a sync to everyone but its sender). */
static json_t *sync_message(const struct tm_model *m, const struct tm_cmd *cmd,
			    double local_now_ms, char *err, size_t errlen)
{
	double pos = tm_position(m, local_now_ms);
	double at = tm_server_now(m, local_now_ms);
	double speed = m->state.speed;
	bool playing = m->state.playing;
	const char *id = verb(m, cmd->kind);

	switch (cmd->kind) {
	case TM_CMD_PLAY:
		playing = true;
		break;
	case TM_CMD_PAUSE:
		playing = false;
		break;
	case TM_CMD_TOGGLE:
		playing = !playing;
		break;
	case TM_CMD_SEEK:
		if (!isfinite(cmd->value)) {
			seterr(err, errlen, "bad time");
			return NULL;
		}
		/* a relative seek goes on from the latest command's target,
		 * which may not play yet */
		pos = cmd->relative ? tm_latest_position(m, local_now_ms) + cmd->value
				    : cmd->value;
		break;
	default:                        /* TM_CMD_SPEED */
		if (!(cmd->value >= RV_SPEED_MIN && cmd->value <= RV_SPEED_MAX)) {
			seterr(err, errlen, "speed must be between 0.25 and 4");
			return NULL;
		}
		speed = cmd->value;
		id = "speed";
		break;
	}
	if (!(pos >= 0))
		pos = 0;
	/* The model takes a server's state as it comes; what the host sends
	 * back must be one the contract allows (found by fuzz_tui). */
	if (speed < RV_SPEED_MIN)
		speed = RV_SPEED_MIN;
	else if (speed > RV_SPEED_MAX)
		speed = RV_SPEED_MAX;
	if (m->duration_s > 0 && pos > m->duration_s)
		pos = m->duration_s;
	if (!isfinite(pos) || !isfinite(at) || !isfinite(speed)) {
		seterr(err, errlen, "the playback state is out of range");
		return NULL;
	}
	return json_pack("{s:s, s:{s:f, s:b, s:f, s:f}, s:s}", "type", "sync",
			 "payload", "position", pos, "playing", (int)playing,
			 "speed", speed, "at", at, "id", id);
}

/* The bytes of a text field of a command, or -1 when it has no NUL. */
static long text_len(const struct tm_cmd *cmd)
{
	size_t n = strnlen(cmd->text, sizeof(cmd->text));

	return n == sizeof(cmd->text) ? -1 : (long)n;
}

char *tm_command_message(const struct tm_model *m, const struct tm_cmd *cmd,
			 double local_now_ms, char *err, size_t errlen)
{
	const struct tm_member *to;
	json_t *msg = NULL;
	char *out;
	long len;

	seterr(err, errlen, "%s", "");
	switch (cmd->kind) {
	case TM_CMD_CHAT:
		len = text_len(cmd);
		if (len < 1 || len > RV_CHAT_MAX || !rv_utf8_valid(cmd->text, (size_t)len)) {
			seterr(err, errlen, "a message is 1-%d bytes of UTF-8", RV_CHAT_MAX);
			return NULL;
		}
		msg = json_pack("{s:s, s:{s:s}}", "type", "chat", "payload",
				"text", cmd->text);
		break;
	case TM_CMD_REACT:
		len = text_len(cmd);
		if (len < 1 || len > RV_EMOJI_MAX || !rv_utf8_valid(cmd->text, (size_t)len)) {
			seterr(err, errlen, "a reaction is 1-%d bytes of UTF-8", RV_EMOJI_MAX);
			return NULL;
		}
		msg = json_pack("{s:s, s:{s:s}}", "type", "reaction", "payload",
				"emoji", cmd->text);
		break;
	case TM_CMD_HOST:
		if (!host_only(m, cmd->kind, err, errlen))
			return NULL;
		if (text_len(cmd) < 0 || !(to = tm_member_named(m, cmd->text))) {
			if (text_len(cmd) >= 0 && name_shared(m, cmd->text))
				seterr(err, errlen, "more than one member is named %s: "
				       "give the name the member list shows, as %s (id)",
				       cmd->text, cmd->text);
			else
				seterr(err, errlen, "no member named %s",
				       text_len(cmd) < 0 ? "?" : cmd->text);
			return NULL;
		}
		if (strcmp(to->id, m->self_id) == 0) {
			seterr(err, errlen, "you are the host already");
			return NULL;
		}
		msg = json_pack("{s:s, s:{s:s}}", "type", "transfer_host", "payload",
				"to", to->id);
		break;
	case TM_CMD_START:
		if (!host_only(m, cmd->kind, err, errlen))
			return NULL;
		msg = json_pack("{s:s, s:s}", "type", "start", "id", "start");
		break;
	case TM_CMD_PLAY:
	case TM_CMD_PAUSE:
	case TM_CMD_TOGGLE:
	case TM_CMD_SEEK:
	case TM_CMD_SPEED:
		if (!host_only(m, cmd->kind, err, errlen))
			return NULL;
		msg = sync_message(m, cmd, local_now_ms, err, errlen);
		break;
	default:                        /* none, members, help, quit: local */
		return NULL;
	}
	out = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	json_decref(msg);
	if (!out && err && errlen && !err[0])
		seterr(err, errlen, "out of memory");
	return out;
}
