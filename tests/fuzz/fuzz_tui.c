/* tests/fuzz/fuzz_tui.c - libFuzzer harness for revenge-party's model and
 * commands (tui/revenge-party/model.c, command.c) and its simulated player
 * (player.c).
 *
 * An input is lines. Each line goes to tm_apply as one server message, so a
 * welcome, a member_joined and a chat in one input build on each other;
 * then each line is typed, as main.c's on_line and run_command would: the
 * reason a line or its command is refused becomes a notice, and the message
 * a command produces must be a JSON object with a string type (a sync with
 * its state in range). After every step the model is checked: the view
 * writes its names and lines to the terminal as they are, so each must be
 * NUL-terminated, valid UTF-8 and free of control characters (C0, DEL, and
 * C1 such as U+009B, which a terminal may take as CSI), bidi controls and
 * line or paragraph separators, and every count
 * within its bound. Each line's text is also wrapped (tm_wrap) at a width
 * taken from it: rows start in order inside the text, each moves on, and
 * each fits the room behind the continuation mark. A connection failure's
 * cause (tm_connect_cause) from the input is as safe to show. Any broken
 * promise aborts, which libFuzzer reports as a
 * crash.
 *
 *   make fuzz-build && scripts/fuzz.sh 20 fuzz_tui
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "command.h"
#include "model.h"

#define NOW 1764158400000.0         /* a made-up local clock, ms */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Shown on the terminal as is: NUL-terminated inside its array, valid
 * UTF-8, no C0 control, DEL or C1 control (U+0080-U+009F, 0xc2 0x80-0x9f),
 * no bidi control (U+061C, U+200E-F, U+202A-E, U+2066-9), no U+2028/9. */
static void check_shown(const char *s, size_t size)
{
	size_t len = strnlen(s, size);

	if (len == size || !rv_utf8_valid(s, len))
		abort();
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		const unsigned char *u = (const unsigned char *)s + i;

		if (c < 0x20 || c == 0x7f ||
		    (c == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f))
			abort();
		/* bidi controls, line and paragraph separators */
		if ((c == 0xd8 && u[1] == 0x9c) ||
		    (c == 0xe2 && u[1] == 0x80 &&
		     (u[2] == 0x8e || u[2] == 0x8f || (u[2] >= 0xa8 && u[2] <= 0xae))) ||
		    (c == 0xe2 && u[1] == 0x81 && u[2] >= 0xa6 && u[2] <= 0xa9))
			abort();
	}
}

/* An id is matched, never shown raw: it only has to be a string. */
static void check_id(const char *s, size_t size, bool may_be_empty)
{
	size_t len = strnlen(s, size);

	if (len == size || (!may_be_empty && len == 0))
		abort();
}

static void check_line(const struct tm_line *l)
{
	if ((unsigned)l->kind > TM_ERROR ||
	    ((l->kind == TM_NOTICE || l->kind == TM_ERROR) && l->name[0]) || l->count < 1)
		abort();
	check_shown(l->name, sizeof(l->name));
	check_shown(l->text, sizeof(l->text));
	if (l->name[0] ? l->color < 1 || l->color > 6 : l->color != 0)
		abort();
	{
		int width = 1 + (int)(strlen(l->text) % 90);
		int room = width - TM_WRAP_INDENT > 0 ? width - TM_WRAP_INDENT : 1;
		size_t starts[TM_TEXT_MAX + 1], n = strlen(l->text), b;
		size_t rows = tm_wrap(l->text, width, starts, TM_TEXT_MAX + 1);

		if (rows < 1 || rows > n + 1 || starts[0] != 0)
			abort();
		for (size_t r = 0; r < rows; r++) {
			size_t end = r + 1 < rows ? starts[r + 1] : n;
			char row[TM_TEXT_MAX + 1];

			if (end > n || (n && end <= starts[r]))
				abort();
			memcpy(row, l->text + starts[r], end - starts[r]);
			row[end - starts[r]] = '\0';
			/* over the room only when one character is wider */
			if (tm_fit(row, room, &b) > room || (b < end - starts[r] && r + 1 < rows && b))
				abort();
		}
	}
}

/* After each message or typed line: the bounds, the state and the newest
 * line, so the cost stays linear in the input. */
static void check_step(const struct tm_model *m)
{
	if (m->n_members > TM_MEMBERS_MAX || m->n_lines > TM_LINES_MAX ||
	    m->first_line >= TM_LINES_MAX || (m->scroll && m->scroll >= m->n_lines))
		abort();
	if (!(m->state.position >= 0) || !(m->state.speed > 0) ||
	    !isfinite(m->state.speed) || !isfinite(m->state.server_time))
		abort();
	if (m->n_lines)
		check_line(&m->lines[(m->first_line + m->n_lines - 1) % TM_LINES_MAX]);
}

/* At the end of each pass: everything the view could show. */
static void check_model(const struct tm_model *m)
{
	check_step(m);
	check_shown(m->self_name, sizeof(m->self_name));
	check_shown(tm_host_name(m), RV_NAME_MAX_BYTES + 1);
	check_id(m->party, sizeof(m->party), true);
	check_id(m->self_id, sizeof(m->self_id), true);
	check_id(m->host_id, sizeof(m->host_id), true);
	for (size_t i = 0; i < m->n_members; i++) {
		const struct tm_member *mb = &m->members[i];

		check_id(mb->id, sizeof(mb->id), false);
		check_shown(mb->name, sizeof(mb->name));
		if (mb->color < 1 || mb->color > 6)
			abort();
		/* one entry per id: a rejoin renames, it does not add */
		for (size_t k = 0; k < i; k++)
			if (strcmp(m->members[k].id, mb->id) == 0)
				abort();
	}
	for (size_t i = 0; i < m->n_lines; i++)
		check_line(&m->lines[(m->first_line + i) % TM_LINES_MAX]);
	/* the status line's waiting room, at a roomy and a cramped size */
	{
		char wait[256];

		if (m->n_waiting_for > sizeof(m->waiting_for) / sizeof(m->waiting_for[0]))
			abort();
		tm_waiting_text(m, NOW, wait, sizeof(wait));
		check_shown(wait, sizeof(wait));
		tm_waiting_text(m, NOW, wait, 17);
		check_shown(wait, 17);
	}
}

/* A command's message: a JSON object with a string type; a sync carries a
 * state the server would take. */
static void check_message(const char *text)
{
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	const char *type;
	double pos, speed, at;
	int playing;

	if (!j || json_unpack(j, "{s:s}", "type", &type) != 0)
		abort();
	if (strcmp(type, "sync") == 0 &&
	    (json_unpack(j, "{s:{s:F, s:b, s:F, s:F}}", "payload", "position", &pos,
			 "playing", &playing, "speed", &speed, "at", &at) != 0 ||
	     !(pos >= 0) || !isfinite(pos) || !isfinite(at) ||
	     !(speed >= RV_SPEED_MIN && speed <= RV_SPEED_MAX)))
		abort();
	json_decref(j);
}

/* The simulated player steps as main.c's redraw timer makes it, and what
 * it would send is a status the server takes. */
static void step_player(struct tm_model *m, double now)
{
	char buf[256];
	json_t *j;
	double pos, at, err;
	int playing, buffering;

	tm_player_step(&m->player, &m->state, tm_server_now(m, now), now);
	if (!tm_player_status(&m->player, &m->clock, now, buf, sizeof(buf)))
		return;
	j = json_loads(buf, JSON_REJECT_DUPLICATES, NULL);
	if (!j || json_unpack(j, "{s:{s:F, s:b, s:b}}", "payload", "position", &pos,
			      "playing", &playing, "buffering", &buffering) != 0 ||
	    !(pos >= 0 && pos <= 1e9) ||
	    (!json_unpack(j, "{s:{s:F, s:F}}", "payload", "at", &at, "clock_error_ms", &err) &&
	     !(at >= 0 && isfinite(at) && err >= 0 && err <= 1e9)))
		abort();
	json_decref(j);
}

/* The line as main.c's on_line and run_command take it. */
static void type_line(struct tm_model *m, const char *line, double now)
{
	struct tm_cmd cmd;
	char err[300];
	char *msg;

	if (tm_parse_command(line, &cmd, err, sizeof(err)) != 0) {
		if (cmd.kind != TM_CMD_NONE || !err[0])
			abort();
		tm_notice(m, now, "%s", err);
		return;
	}
	if (strnlen(cmd.text, sizeof(cmd.text)) == sizeof(cmd.text) ||
	    !rv_utf8_valid(cmd.text, strlen(cmd.text)))
		abort();
	msg = tm_command_message(m, &cmd, now, err, sizeof(err));
	if (strnlen(err, sizeof(err)) == sizeof(err))
		abort();
	if (msg)
		check_message(msg);
	else if (err[0])
		tm_notice(m, now, "%s", err);
	free(msg);
}

/* Where the line at p ends: its '\n', or end. */
static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl : end;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* 2 MB of scrollback: static, and reset for every input. */
	static struct tm_model m;
	struct tm_cmd toggle = { .kind = TM_CMD_TOGGLE };
	const char *text = (const char *)data, *end = text + size, *p, *nl;
	double now = NOW;
	char *line, *msg;

	tm_init(&m, "movie-night", "guest-2", 0);
	for (p = text; p < end; p = nl + 1) {
		nl = line_end(p, end);
		tm_apply(&m, p, (size_t)(nl - p), now += 10);
		step_player(&m, now += 500);
		check_step(&m);
	}
	check_model(&m);
	/* Typed, a line ends at its first NUL, as a C string does. */
	for (p = text; p < end; p = nl + 1) {
		nl = line_end(p, end);
		line = strndup(p, (size_t)(nl - p));
		if (!line)
			return 0;
		type_line(&m, line, now += 10);
		free(line);
		check_step(&m);
	}
	check_model(&m);
	/* Why a connection failed, said from what the library reported:
	 * the first line as its reason, the second as its log line, safe
	 * to show and never cut inside a character. */
	{
		const char *l2 = line_end(text, end);
		char *reason = strndup(text, (size_t)(l2 - text));
		char *log = l2 < end ? strndup(l2 + 1, (size_t)(line_end(l2 + 1, end) - l2 - 1)) :
				       NULL;
		char cause[160];

		if (reason) {
			tm_connect_cause(size % 3 ? 0 : 1006, size % 5 ? 0 : (int)(size % 600),
					 reason, log, size & 1, size & 2, cause, sizeof(cause));
			check_shown(cause, sizeof(cause));
		}
		free(reason);
		free(log);
	}
	for (size_t i = 0; i < m.n_members; i++) {
		const char *w = tm_member_sync_word(&m.members[i]);

		if (w && strcmp(w, "in sync") && strcmp(w, "drifting") && strcmp(w, "buffering"))
			abort();
	}
	/* The space key: what toggling would send from the state reached. */
	msg = tm_command_message(&m, &toggle, now, NULL, 0);
	if (msg)
		check_message(msg);
	free(msg);
	return 0;
}
