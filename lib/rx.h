/* lib/rx.h - internal: the server's WebSocket read side.
 *
 * Once lws has done a connection's HTTP upgrade (and TLS), rx.c reads the
 * socket itself: its own libev watcher on the fd, recv() or SSL_read() on
 * lws's SSL, lws told to stop reading (rx flow control). The bytes go
 * through the frame parser (wsframe.c); messages are assembled (msgbuf),
 * inflated by one server-wide zlib stream when permessage-deflate is on,
 * checked for UTF-8 and handed to the server (hub->message). Pings are
 * answered, pongs feed the keep-alive, a close is echoed, and a protocol
 * error becomes a close frame (1002, 1007, 1009) written by conn.c's send
 * path, a FIN at once, and the TCP connection's end when the peer's EOF
 * comes (or a second later).
 */
#ifndef REVENGE_RX_H
#define REVENGE_RX_H

struct rv__conn;
struct rv__hub;

/* Take over reading c's socket; called when lws says it is established
 * (after rv__conn_init and c->deflate are set). 0, or RV_EIO when lws
 * would not stop reading it (then lws keeps the connection and c is
 * closed with 1011). */
int rv__rx_start(struct rv__conn *c);

/* Stop reading c (lws is closing it); NULL-safe on a connection never
 * started. */
void rv__rx_stop(struct rv__conn *c);

/* Set up the hub's read-side watchers (before any connection). */
void rv__rx_hub_init(struct rv__hub *hub);

/* Called every quarter second: closes with 1008 the connections that
 * began a frame or a message more than --message-timeout ago and have not
 * finished it, and gives freed assembly memory back to the system. */
void rv__rx_sweep(struct rv__hub *hub);

/* Free the server-wide inflater and buffers. */
void rv__rx_hub_fini(struct rv__hub *hub);

#endif
