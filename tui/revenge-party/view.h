/* tui/revenge-party/view.h - the ncurses screen: panes painted from the
 * model, only what is dirty, with one doupdate per pass.
 */
#ifndef REVENGE_TUI_VIEW_H
#define REVENGE_TUI_VIEW_H

#include <stdbool.h>

#include "model.h"

struct view;

/* Start curses on the terminal (UTF-8 locale must be set). color: use
 * colours (has_colors() and no NO_COLOR). Returns NULL when the terminal
 * cannot be used. */
struct view *view_open(bool color);
/* Restore the terminal; NULL-safe. */
void view_close(struct view *v);

/* The terminal changed size: re-read it and lay the panes out again. */
void view_resize(struct view *v);

/* Paint what m marks dirty (and clear the marks), then the input line from
 * prompt and line with the cursor at byte offset point. local_now_ms is
 * for the playback position. */
void view_draw(struct view *v, struct tm_model *m, double local_now_ms);
void view_draw_input(struct view *v, const char *prompt, const char *line, int point);

/* Read one key without blocking: a byte of input or a KEY_* code; ERR when
 * none. */
int view_getch(struct view *v);

/* Rows of chat one PgUp/PgDn moves. */
int view_page(const struct view *v);

#endif
