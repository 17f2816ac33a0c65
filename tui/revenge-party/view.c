/* tui/revenge-party/view.c - paints the model with ncursesw.
 *
 * Layout, top to bottom: the player bar (2 rows), the chat pane with the
 * member list on its right (when there is room), a status row, the input
 * line and, from HINT_ROWS rows on, a key-hint row. Offline (model.h's
 * conn), the bar and the list are dimmed and marked so: what they show is
 * the last known. Every pane is its own window; a pass redraws the dirty ones
 * with wnoutrefresh and ends in a single doupdate. Text is UTF-8 and is
 * cut by display width, never in the middle of a character.
 */
#define _XOPEN_SOURCE_EXTENDED 1
#include "view.h"

#include <curses.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "command.h"

#define MEMBERS_W 20
#define MIN_ROWS 6
#define MIN_COLS 24
/* the key-hint row (htop's, weechat's) from this height on */
#define HINT_ROWS 12
#define ELLIPSIS "\xe2\x80\xa6"      /* U+2026, one column */

struct view {
	WINDOW *player, *chat, *members, *status, *input, *hint;
	int rows, cols;
	bool color;
	bool tiny;              /* too small for the layout */
	bool was_offline;       /* as last drawn: a change repaints all */
};

/* Print s cut to width columns. */
static void put(WINDOW *w, const char *s, int width)
{
	size_t b;

	if (width <= 0)
		return;
	tm_fit(s, width, &b);
	waddnstr(w, s, (int)b);
}

/* Print s in width columns; when it is wider, cut it one column short and
 * end it with an ellipsis, so a cut name never passes for a whole one.
 * Returns the columns printed. */
static int put_cut(WINDOW *w, const char *s, int width)
{
	size_t b;
	int cols;

	if (width <= 0)
		return 0;
	cols = tm_fit(s, width, &b);
	if (!s[b]) {
		waddnstr(w, s, (int)b);
		return cols;
	}
	cols = tm_fit(s, width - 1, &b);
	waddnstr(w, s, (int)b);
	waddstr(w, ELLIPSIS);
	return cols + 1;
}

/* Not connected once joined (or given up): what is shown is the last
 * known, not live. The first connection is "connecting", not offline. */
static bool offline(const struct tm_model *m)
{
	return m->conn == TM_RECONNECTING || m->conn == TM_GONE ||
	       (m->conn == TM_CONNECTING && m->joined);
}

static void layout(struct view *v)
{
	int chat_h, chat_w, hint;

	if (v->player)
		delwin(v->player);
	if (v->chat)
		delwin(v->chat);
	if (v->members)
		delwin(v->members);
	if (v->status)
		delwin(v->status);
	if (v->input)
		delwin(v->input);
	if (v->hint)
		delwin(v->hint);
	v->player = v->chat = v->members = v->status = v->input = v->hint = NULL;
	v->tiny = v->rows < MIN_ROWS || v->cols < MIN_COLS;
	if (v->tiny) {
		/* Only the input line survives; the rest says it needs room. */
		v->chat = newwin(v->rows > 1 ? v->rows - 1 : 1, v->cols, 0, 0);
		v->input = newwin(1, v->cols, v->rows > 1 ? v->rows - 1 : 0, 0);
		return;
	}
	hint = v->rows >= HINT_ROWS;
	chat_h = v->rows - 4 - hint;
	chat_w = v->cols >= 60 ? v->cols - MEMBERS_W - 1 : v->cols;
	v->player = newwin(2, v->cols, 0, 0);
	v->chat = newwin(chat_h, chat_w, 2, 0);
	if (chat_w < v->cols)
		v->members = newwin(chat_h, MEMBERS_W, 2, chat_w + 1);
	v->status = newwin(1, v->cols, v->rows - 2 - hint, 0);
	v->input = newwin(1, v->cols, v->rows - 1 - hint, 0);
	if (hint)
		v->hint = newwin(1, v->cols, v->rows - 1, 0);
	keypad(v->input, TRUE);
	nodelay(v->input, TRUE);
}

/* The terminal's size now; true when it differs from what is laid out.
 * resize_term, not resizeterm: the latter queues a KEY_RESIZE, which would
 * bring us straight back here. */
static bool term_size(struct view *v)
{
	struct winsize ws;
	int rows = v->rows, cols = v->cols;

	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col) {
		rows = ws.ws_row;
		cols = ws.ws_col;
	} else {
		getmaxyx(stdscr, rows, cols);
	}
	if (rows == v->rows && cols == v->cols)
		return false;
	v->rows = rows;
	v->cols = cols;
	resize_term(rows, cols);
	return true;
}

struct view *view_open(bool color)
{
	struct view *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	if (!initscr()) {
		free(v);
		return NULL;
	}
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	v->color = color && has_colors();
	if (v->color) {
		start_color();
		use_default_colors();
		for (short i = 1; i <= 6; i++)
			init_pair(i, i, -1);      /* names: red..cyan */
		init_pair(7, COLOR_BLACK, COLOR_CYAN); /* the player bar */
	}
	curs_set(1);
	term_size(v);
	layout(v);
	return v;
}

void view_close(struct view *v)
{
	if (!v)
		return;
	endwin();
	free(v);
}

void view_resize(struct view *v)
{
	if (!term_size(v))
		return;
	clear();
	wnoutrefresh(stdscr);
	layout(v);
}

int view_page(const struct view *v)
{
	int h = v->rows - 5 - (v->hint != NULL);

	return h > 1 ? h : 1;
}

int view_getch(struct view *v)
{
	return wgetch(v->input);
}

static void draw_player(struct view *v, struct tm_model *m, double now)
{
	char pos[32], dur[32], line[512], bar[512];
	/* what the simulated player shows, once it has started */
	double p = m->player.started ? tm_player_position(&m->player, now) : tm_position(m, now);
	double offset = 0, rtt = 0, err = 0;
	char sync[48], word[64];
	size_t b;
	bool have_clock = rv_offset_get_ex(&m->clock, now, &offset, &rtt, &err);
	const char *host = tm_host_name(m);
	int w = v->cols;

	/* "-" is a host not known yet; "none" a party where nobody present
	 * may host, which waits for one. */
	if (!*host)
		host = m->joined && !m->host_id[0] ? "none" : "-";
	werase(v->player);
	/* Offline, what the bar shows is the last known, not live: no
	 * colour, dim, and says so first. */
	wbkgd(v->player, v->color && !offline(m) ? COLOR_PAIR(7) : A_NORMAL);
	wattrset(v->player, offline(m) ? A_DIM : A_NORMAL);
	tm_format_clock(p, pos, sizeof(pos));
	if (m->duration_s > 0)
		tm_format_clock(m->duration_s, dur, sizeof(dur));
	snprintf(line, sizeof(line), " %s%s %s  %s%s%s  x%g  host: %s  %s",
		 offline(m) ? "OFFLINE " : "", m->joined ?
		 (tm_playback(m, now)->playing ? "▶" : "⏸") : "…", m->party, pos,
		 m->duration_s > 0 ? " / " : "", m->duration_s > 0 ? dur : "",
		 tm_playback(m, now)->speed,
		 host, tm_is_host(m) ? "(you)" : "");
	if (tm_fit(line, 1 << 20, &b) > w)
		/* narrow: the host before the party's name and the speed */
		snprintf(line, sizeof(line), " %s%s %s  host: %s%s  x%g  %s",
			 offline(m) ? "OFFLINE " : "", m->joined ?
			 (tm_playback(m, now)->playing ? "▶" : "⏸") : "…", pos, host,
			 tm_is_host(m) ? " (you)" : "", tm_playback(m, now)->speed, m->party);
	wmove(v->player, 0, 0);
	put(v->player, line, w);
	/* how this player is doing in words first; the numbers after */
	tm_player_sync_text(&m->player, now, sync, sizeof(sync));
	if (offline(m))
		snprintf(word, sizeof(word), "you: offline");
	else if (m->conn != TM_CONNECTED)
		snprintf(word, sizeof(word), "you: connecting");
	else if (m->waiting)
		snprintf(word, sizeof(word), "you: waiting");
	else
		snprintf(word, sizeof(word), "you: %s", sync[0] ? sync : "joining");
	if (have_clock)
		snprintf(bar, sizeof(bar), " %s  (clock %+.1f ms ±%.1f, rtt %.1f ms)", word, offset,
			 err, rtt);
	else
		snprintf(bar, sizeof(bar), " %s  (clock: measuring)", word);
	/* the progress bar fills what the clock and sync text leave */
	if (m->duration_s > 0 && w > 64) {
		int len = w - 57, done = (int)(len * (p / m->duration_s));
		char pb[512];
		int i;

		if (done > len)
			done = len;
		for (i = 0; i < len && i < (int)sizeof(pb) - 1; i++)
			pb[i] = i < done ? '=' : i == done ? '>' : '-';
		pb[i] = 0;
		wmove(v->player, 1, 0);
		wprintw(v->player, " [%s]", pb);
		put(v->player, bar, w - len - 3);
	} else {
		wmove(v->player, 1, 0);
		put(v->player, bar, w);
	}
	wnoutrefresh(v->player);
}

static void draw_members(struct view *v, struct tm_model *m)
{
	int h, w;

	if (!v->members)
		return;
	size_t total = m->member_count > m->n_members ? m->member_count : m->n_members;
	size_t rows, shown_n;
	char title[64];

	getmaxyx(v->members, h, w);
	werase(v->members);
	/* offline, the list is the last known: dim and marked */
	wattrset(v->members, offline(m) ? A_DIM : A_NORMAL);
	snprintf(title, sizeof(title), "%zu member%s%s", total, total == 1 ? "" : "s",
		 offline(m) ? " (offline)" : "");
	wmove(v->members, 0, 0);
	put(v->members, title, w);
	/* rows below the title; when not all fit the last says how many more */
	rows = h > 1 ? (size_t)h - 1 : 0;
	shown_n = m->n_members <= rows && total == m->n_members ? m->n_members :
		  rows ? rows - 1 : 0;
	if (shown_n > m->n_members)
		shown_n = m->n_members;
	for (size_t i = 0; i < shown_n; i++) {
		const struct tm_member *mb = &m->members[i];
		bool host = !strcmp(mb->id, m->host_id), self = !strcmp(mb->id, m->self_id);
		const char *word = tm_member_sync_word(mb);
		char shown[TM_SHOWN_MAX];
		int room = w - 2 - (self ? 6 : 0) - (word ? (int)strlen(word) + 1 : 0);

		wmove(v->members, (int)i + 1, 0);
		waddstr(v->members, host ? "* " : "  ");
		if (v->color && !offline(m))
			wattron(v->members, COLOR_PAIR(mb->color));
		put_cut(v->members, tm_shown_name(m, mb->id, mb->name, shown, sizeof(shown)), room);
		if (v->color && !offline(m))
			wattroff(v->members, COLOR_PAIR(mb->color));
		if (self)
			waddstr(v->members, " (you)");
		/* the host's drift report, in words, at the right edge */
		if (word && w - (int)strlen(word) > getcurx(v->members))
			mvwaddstr(v->members, (int)i + 1, w - (int)strlen(word), word);
	}
	if (shown_n < total && rows) {
		char more[48];

		snprintf(more, sizeof(more), "  +%zu more", total - shown_n);
		wmove(v->members, (int)shown_n + 1, 0);
		put(v->members, more, w);
	}
	wattrset(v->members, A_NORMAL);
	wnoutrefresh(v->members);
}

/* A line's body: "name: text" for chat, "name text" for the others. */
static void line_body(const struct tm_model *m, const struct tm_line *l, char *body, size_t size,
		      size_t *name_len)
{
	char shown[TM_SHOWN_MAX];
	const char *name = tm_shown_name(m, l->from, l->name, shown, sizeof(shown));

	if (l->kind == TM_CHAT)
		snprintf(body, size, "%s: %s", name, l->text);
	else if (l->kind == TM_ERROR)
		snprintf(body, size, TM_ERROR_MARK "%s", l->text);
	else
		snprintf(body, size, "%s%s%s", name, name[0] ? " " : "", l->text);
	*name_len = strlen(name);
}

#define BODY_MAX (TM_TEXT_MAX + TM_SHOWN_MAX + 16)

/* Rows a line takes at width (tm_wrap). */
static int chat_line_rows(const struct tm_model *m, const struct tm_line *l, int width)
{
	char body[BODY_MAX];
	size_t nl;

	line_body(m, l, body, sizeof(body), &nl);
	return (int)tm_wrap(body, width, NULL, 0);
}

/* One line as "HH:MM name: text", then each wrapped row behind the
 * continuation mark (TM_WRAP_MARK, model.h says why). */
static void draw_chat_line(struct view *v, const struct tm_model *m, const struct tm_line *l,
			   int y, int width)
{
	char stamp[16], body[BODY_MAX];
	size_t starts[BODY_MAX], rows, nl;
	time_t t = (time_t)(l->at_ms / 1000);
	struct tm tm;
	bool dim = l->kind == TM_NOTICE || l->kind == TM_JOIN || l->kind == TM_LEAVE ||
		   l->kind == TM_HOST;

	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M ", &tm);
	line_body(m, l, body, sizeof(body), &nl);
	rows = tm_wrap(body, width, starts, BODY_MAX);
	for (size_t row = 0; row < rows; row++) {
		size_t off = starts[row], b = (row + 1 < rows ? starts[row + 1] : strlen(body)) - off;

		wmove(v->chat, y + (int)row, 0);
		if (row == 0) {
			waddstr(v->chat, stamp);
		} else {
			/* ours, never the sender's: not in the sender's colour */
			wattron(v->chat, A_DIM);
			waddstr(v->chat, TM_WRAP_MARK);
			wattroff(v->chat, A_DIM);
		}
		if (row == 0 && (l->kind == TM_CHAT || l->kind == TM_ACTION) && v->color) {
			wattron(v->chat, COLOR_PAIR(l->color) | A_BOLD);
			waddnstr(v->chat, body, (int)(nl < b ? nl : b));
			wattroff(v->chat, COLOR_PAIR(l->color) | A_BOLD);
			if (b > nl)
				waddnstr(v->chat, body + nl, (int)(b - nl));
		} else if (l->kind == TM_ERROR) {
			/* red and bold where there is colour, bold anyway */
			wattron(v->chat, A_BOLD | (v->color ? COLOR_PAIR(1) : 0));
			waddnstr(v->chat, body + off, (int)b);
			wattroff(v->chat, A_BOLD | (v->color ? COLOR_PAIR(1) : 0));
		} else {
			if (dim)
				wattron(v->chat, A_DIM);
			waddnstr(v->chat, body + off, (int)b);
			wattroff(v->chat, A_DIM);
		}
	}
}

static void draw_chat(struct view *v, struct tm_model *m)
{
	int h, w, y;
	size_t i, skip_rows;

	getmaxyx(v->chat, h, w);
	werase(v->chat);
	/* Scrolling stops where the oldest line reaches the top: clamp the
	 * model's row count to what the lines fill at this width. */
	size_t total = 0;

	for (i = 0; i < m->n_lines; i++)
		total += (size_t)chat_line_rows(m, &m->lines[(m->first_line + i) % TM_LINES_MAX], w);
	if (m->scroll > (total > (size_t)h ? total - (size_t)h : 0))
		m->scroll = total > (size_t)h ? total - (size_t)h : 0;
	/* Walk back from the newest line, past the scrolled-back rows, until
	 * the pane is full; then draw downwards. */
	skip_rows = m->scroll;
	size_t last = m->n_lines;
	int used = 0;

	i = last;
	while (i > 0) {
		const struct tm_line *l = &m->lines[(m->first_line + i - 1) % TM_LINES_MAX];
		int r = chat_line_rows(m, l, w);

		if (skip_rows >= (size_t)r) {
			skip_rows -= (size_t)r;
			last = i - 1;
			i--;
			continue;
		}
		if (used + r > h)
			break;
		used += r;
		i--;
	}
	y = h - used;
	if (y < 0)
		y = 0;
	for (size_t k = i; k < last; k++) {
		const struct tm_line *l = &m->lines[(m->first_line + k) % TM_LINES_MAX];
		int r = chat_line_rows(m, l, w);

		draw_chat_line(v, m, l, y, w);
		y += r;
	}
	/* back at the bottom, everything has been seen; scrolled back, the
	 * last row says that more came in below */
	if (!m->scroll)
		m->unseen = 0;
	if (m->scroll && m->unseen) {
		char mark[96];

		snprintf(mark, sizeof(mark), " \xe2\x86\x93 %zu new message%s below (PgDn) ",
			 m->unseen, m->unseen == 1 ? "" : "s");
		wmove(v->chat, h - 1, 0);
		wclrtoeol(v->chat);
		wattron(v->chat, A_REVERSE);
		put(v->chat, mark, w);
		wattroff(v->chat, A_REVERSE);
	}
	wnoutrefresh(v->chat);
}

static void draw_status(struct view *v, struct tm_model *m, double now)
{
	char line[700];
	char wait[256];

	werase(v->status);
	tm_waiting_text(m, now, wait, sizeof(wait));
	if (m->scroll)
		snprintf(line, sizeof(line), " %s%s%s  [scrolled back %zu lines: PgDn]", m->status,
			 wait[0] ? "  " : "", wait, m->scroll);
	else
		snprintf(line, sizeof(line), " %s%s%s", m->status, wait[0] ? "  " : "", wait);
	wattron(v->status, A_REVERSE);
	put(v->status, line, v->cols);
	for (int x = getcurx(v->status); x < v->cols; x++)
		waddch(v->status, ' ');
	wattroff(v->status, A_REVERSE);
	wnoutrefresh(v->status);
	if (v->hint) {
		/* the keys that matter now, htop's way: a host's first */
		werase(v->hint);
		wmove(v->hint, 0, 0);
		put(v->hint, tm_is_host(m) ?
		    "F1 help  Space play/pause  \xe2\x86\x90\xe2\x86\x92 seek  [ ] speed  "
		    "PgUp/PgDn scroll  Tab complete  /quit" :
		    "F1 help  PgUp/PgDn scroll  Tab complete  /quit", v->cols);
		wnoutrefresh(v->hint);
	}
}

void view_draw(struct view *v, struct tm_model *m, double now)
{
	if (offline(m) != v->was_offline) {
		v->was_offline = offline(m);
		m->dirty = TM_DIRTY_ALL;
	}
	if (v->tiny) {
		char why[96];
		size_t starts[16], rows;

		werase(v->chat);
		snprintf(why, sizeof(why), "terminal too small: need at least %dx%d, have %dx%d",
			 MIN_COLS, MIN_ROWS, v->cols, v->rows);
		/* wrapped, so a narrow terminal still shows the sizes */
		rows = tm_wrap(why, v->cols + TM_WRAP_INDENT, starts, 16);
		for (size_t r = 0; r < rows && r < 16 && (int)r < getmaxy(v->chat); r++) {
			size_t end = r + 1 < rows ? starts[r + 1] : strlen(why);

			mvwaddnstr(v->chat, (int)r, 0, why + starts[r], (int)(end - starts[r]));
		}
		wnoutrefresh(v->chat);
		m->dirty = 0;
		return;
	}
	if (m->dirty & TM_DIRTY_PLAYER)
		draw_player(v, m, now);
	if (m->dirty & TM_DIRTY_MEMBERS)
		draw_members(v, m);
	if (m->dirty & TM_DIRTY_CHAT)
		draw_chat(v, m);
	if (m->dirty & TM_DIRTY_STATUS)
		draw_status(v, m, now);
	m->dirty = 0;
}

void view_draw_input(struct view *v, const char *prompt, const char *line, int point)
{
	int w = v->cols, pw, cursor;
	size_t b, start = 0;
	char before[4096];

	werase(v->input);
	pw = tm_fit(prompt, w, &b);
	waddnstr(v->input, prompt, (int)b);
	/* keep the cursor in view: scroll the line from the left if needed */
	snprintf(before, sizeof(before), "%.*s", point, line);
	cursor = tm_fit(before, 1 << 20, &b);
	while (cursor - (int)0 > w - pw - 1 && line[start]) {
		size_t k = 1;

		while ((line[start + k] & 0xc0) == 0x80)
			k++;
		start += k;
		snprintf(before, sizeof(before), "%.*s", point - (int)start, line + start);
		cursor = tm_fit(before, 1 << 20, &b);
	}
	put(v->input, line + start, w - pw);
	wmove(v->input, 0, pw + cursor < w ? pw + cursor : w - 1);
	wnoutrefresh(v->input);
	doupdate();
}
