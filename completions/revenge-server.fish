# completions/revenge-server.fish - fish completion for revenge-server.
#
# The flags and their descriptions mirror usage_text in
# cmd/revenge-server/main.c; tests/cli/completion.bats fails when they drift.

# revenge-server takes no operands: offer files only where a flag wants one.
complete -c revenge-server -f

complete -c revenge-server -l listen -x -d 'Address to listen on (default 127.0.0.1:8080; port 0 picks a free port)' \
    -a "127.0.0.1:8080\t'loopback, default' 0.0.0.0:8080\t'every IPv4 interface' [::1]:8080\t'IPv6 loopback' 127.0.0.1:0\t'a free port'"
complete -c revenge-server -n 'not __fish_seen_subcommand_from token migrate admin' -l metrics-listen -x -d 'Serve /metrics, /healthz and the admin API on this second, private address' \
    -a "127.0.0.1:9090\t'loopback' [::1]:9090\t'IPv6 loopback' 127.0.0.1:0\t'a free port'"
complete -c revenge-server -l port-file -r -F -d 'Once listening, write the URL (the port picked for port 0) to this file'
complete -c revenge-server -l db -r -F -d 'The store: a SQLite file or a postgres:// URL (default ./var/revenge.db)'
complete -c revenge-server -l fsync -d 'Sync every commit to disk: acked reports survive power loss'
complete -c revenge-server -l ladder -x -d 'Quality profiles as NAME:KBPS,...' \
    -a "2160p:16000,1080p:8000,720p:4000,480p:1500,360p:800\t'the default ladder'"
complete -c revenge-server -l origin -x -d 'Allow browser Origins matching PATTERN (repeatable)'
complete -c revenge-server -l allowed-host -x -d 'Answer /healthz and /metrics for Host names matching PATTERN (repeatable)'
complete -c revenge-server -l trusted-proxy -x -d 'A reverse proxy (CIDR) whose X-Forwarded-For or X-Real-IP names the client (repeatable)'
complete -c revenge-server -l max-message -x -d 'Largest message accepted, after decompression (default 65536; 256 to 16777216)'
complete -c revenge-server -l history -x -d 'Chat messages kept per party, replayed to joiners (default 50; 0 to 10000)'
complete -c revenge-server -l ping-interval -x -d 'Ping idle peers every SECS seconds (default 30; 0 disables)'
complete -c revenge-server -l rate-limit -x -d 'Messages per second per connection, bursts of 2N (default 50; 0 disables)'
complete -c revenge-server -l party-chat-rate -x -d 'Chat messages and reactions per second per party, bursts of 2N (default 50; 0 disables)'
complete -c revenge-server -l queue-max -x -d 'Frames queued for a slow client before closing it with 1013 (default 1024)'
complete -c revenge-server -l max-parties -x -d 'Live parties, then 503 (default 10000; 0 = unlimited)'
complete -c revenge-server -l max-members -x -d 'Members of one party, then 503 (default 5000; 0 = unlimited)'
complete -c revenge-server -l party-retention -x -d 'Keep parties across restarts; members resume within this long (90s, 30m, 12h, 7d; default 0 = off)'
complete -c revenge-server -l session-ttl -x -d 'Forget a stored session not seen for this many seconds (default 2592000; 0 = never)'
complete -c revenge-server -l max-stored-per-owner -x -d 'Sessions kept in the store per token subject, oldest forgotten (default 10000; 0 = unlimited)'
complete -c revenge-server -l max-sessions -x -d 'Live progress and stream sessions together, then 503 (default 50000; 0 = unlimited)'
complete -c revenge-server -l max-sessions-per-owner -x -d 'Live sessions per token subject or open-server client address (default 100; 0 = unlimited)'
complete -c revenge-server -l max-conns-per-ip -x -d 'Open connections from one client address, then 503 at accept (default 256; 0 = unlimited)'
complete -c revenge-server -l handshake-rate-per-ip -x -d 'WebSocket handshakes per second from one client address, bursts of 10N, then 429 (default 50; 0 disables)'
complete -c revenge-server -l party-join-rate -x -d 'Joins per second into one party, bursts of 10N, then 429 (default 20; 0 disables)'
complete -c revenge-server -l handshake-timeout -x -d 'Seconds for the TLS handshake and the HTTP request or upgrade (default 5; 1 to 300)'
complete -c revenge-server -l message-timeout -x -d 'Seconds to finish a frame or message once begun, then 1008 (default 10; 0 disables)'
complete -c revenge-server -l partial-budget -x -d 'Bytes all unfinished messages may hold, then the oldest get 1013 (default 67108864; 0 = unlimited)'
complete -c revenge-server -l frame-rate -x -d 'Frames per second per connection, every kind counted, bursts of 2N, then 1008 (default 1000; 0 disables)'
complete -c revenge-server -l lead-min -x -d 'Least lead of a host command in ms: it takes effect for everyone 2 x the highest member RTT later (default 100)'
complete -c revenge-server -l lead-max -x -d 'Most lead of a host command in ms (default 1000; 0 = at once, as v1)'
complete -c revenge-server -l ready-timeout -x -d 'Longest a party holds a resume for members still loading, ms (default 8000; 100 to 600000)'
complete -c revenge-server -l rebuffer-timeout -x -d 'Longest a party pauses for a member stalled mid-play, ms (default 3000; 100 to 600000)'
complete -c revenge-server -l presence-batch-above -x -d 'Above N members, batched presence diffs and a bounded welcome roster (default 64; 0 = never)'
complete -c revenge-server -l presence-interval -x -d 'A large party'"'"'s presence diff at most every MS milliseconds (default 250; 0 to 60000)'
complete -c revenge-server -l redis -x -d 'Cluster mode: share parties through this Redis (redis://HOST[:PORT][/DB], rediss://... over TLS, or unix:///PATH), or shard them over URL,URL,...'
complete -c revenge-server -l redis-ca -r -F -d 'PEM CA certificates for a rediss:// Redis (default: the system store)'
complete -c revenge-server -l redis-cert -r -F -d 'PEM client certificate for a rediss:// Redis that asks for one (needs --redis-key)'
complete -c revenge-server -l redis-key -r -F -d 'PEM private key for --redis-cert'
complete -c revenge-server -l drift-interval -x -d 'Ms between drift reports to a party host, sent when changed (default 1000; 0 = none)'
complete -c revenge-server -n 'not __fish_seen_subcommand_from token' -l auth-secret-file -r -F -d 'Require tokens signed HS256 with this secret'
complete -c revenge-server -n 'not __fish_seen_subcommand_from token' -l auth-public-key -r -F -d 'Require tokens signed RS256/ES256 by this PEM public key\'s holder'
complete -c revenge-server -l auth-leeway -x -d 'Clock slack on a token\'s exp and nbf (default 30; 0 to 300)'
complete -c revenge-server -l insecure-open -d 'With no token key, listen on a non-loopback host anyway'
complete -c revenge-server -l tls-cert -r -F -d 'PEM certificate: serve wss:// (needs --tls-key)'
complete -c revenge-server -l tls-key -r -F -d 'PEM private key for --tls-cert'
complete -c revenge-server -l web-root -r -a '(__fish_complete_directories)' -d 'Serve the web client from this directory'
complete -c revenge-server -l no-web -d 'Do not serve the web client'
complete -c revenge-server -l log-level -x -d 'Log level (default info)' \
    -a "error\t'errors only' warn\t'warnings and errors' info\t'default' debug\t'everything'"
complete -c revenge-server -l log-format -x -d 'Log format (default text)' \
    -a "text\t'one line per event, default' json\t'JSON Lines'"
complete -c revenge-server -l config -r -F -d 'Read settings from this INI file (default /etc/revenge/revenge-server.conf if it exists)'
complete -c revenge-server -l check-config -d 'Check the configuration, print the settings in effect and exit'
complete -c revenge-server -s h -l help -d 'Show this help and exit'
complete -c revenge-server -s V -l version -d 'Show the version and exit'

# revenge-server token: mint a connection token from the shared secret
complete -c revenge-server -n '__fish_use_subcommand' -a token -d 'Mint a connection token (JWT) from the shared secret'
complete -c revenge-server -n '__fish_seen_subcommand_from token' -l auth-secret-file -r -F -d 'The secret the server verifies with'
complete -c revenge-server -n '__fish_seen_subcommand_from token' -l sub -x -d 'Who the token is for (1-128 bytes)'
complete -c revenge-server -n '__fish_seen_subcommand_from token' -l name -x -d 'Display name in parties (overrides ?name=)'
complete -c revenge-server -n '__fish_seen_subcommand_from token' -l role -x -d 'host or member (default member)' -a "host\t'may host' member\t'never host'"
complete -c revenge-server -n '__fish_seen_subcommand_from token' -l party -x -d 'A party it may join: an id or a prefix ending in *'
complete -c revenge-server -n '__fish_seen_subcommand_from token' -l session -x -d 'A progress/stream session it may use, same form'
complete -c revenge-server -n '__fish_seen_subcommand_from token' -l admin -d 'Let it use the admin API on the server\'s metrics address'
complete -c revenge-server -n '__fish_seen_subcommand_from token' -l ttl -x -d 'How long it is valid (default 1h; at most 366d)' -a "15m 1h 12h 7d"

# revenge-server migrate: copy a SQLite store into PostgreSQL
complete -c revenge-server -n '__fish_use_subcommand' -a migrate -d 'Copy a SQLite store into PostgreSQL'
complete -c revenge-server -n '__fish_seen_subcommand_from migrate' -l from -r -F -d 'The SQLite store to copy (opened read-only)'
complete -c revenge-server -n '__fish_seen_subcommand_from migrate' -l to -x -d 'The PostgreSQL database to copy into (postgres:// URL)'
complete -c revenge-server -n '__fish_seen_subcommand_from migrate' -l merge -d 'Copy into a database holding rows: the newer row of a session wins'
complete -c revenge-server -n '__fish_seen_subcommand_from migrate' -l json -d 'Print the summary as one JSON object'

# revenge-server backup FILE: copy the SQLite store, online
complete -c revenge-server -n '__fish_use_subcommand' -a backup -d 'Copy the SQLite store into a new file, online'
complete -c revenge-server -n '__fish_seen_subcommand_from backup' -l json -d 'Print the summary as one JSON object'

# revenge-server admin URL list|show|close|remove: the admin API
complete -c revenge-server -n '__fish_use_subcommand' -a admin -d 'Ask the admin API on the metrics address'
complete -c revenge-server -n '__fish_seen_subcommand_from admin' -l token -x -d 'An admin token (revenge-server token --admin)'
complete -c revenge-server -n '__fish_seen_subcommand_from admin' -l token-file -r -F -d 'Read the token from this file'
complete -c revenge-server -n '__fish_seen_subcommand_from admin' -l timeout -x -d 'Give up after this many seconds (default 10)'
complete -c revenge-server -n '__fish_seen_subcommand_from admin; and not __fish_seen_subcommand_from list show close remove' -a "list\t'the live parties' show\t'one party with its members' close\t'close every member (4410)' remove\t'close one member (4403)'"
