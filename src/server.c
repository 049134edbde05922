/*
 * server.c — the worker's epoll loop (see server.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "log.h"
#include "monotime.h"
#include "server.h"

/* Events taken per pass: also the most requests in one batch. */
#define SERVER_EVENTS		64
_Static_assert(SERVER_EVENTS <= SERVICE_BATCH_MAX,
    "a pass's requests fit one service batch");
/* One read per ready connection per pass; a request is rarely > 1 KiB. */
#define SERVER_READ_SIZE	(64u * 1024)
/* Room for the largest answer (the apps list) with its framing. */
#define SERVER_OUT_MAX		(5u * 1024 * 1024)
/* An output buffer grown past this is given back once it is sent. */
#define SERVER_OUT_KEEP		(64u * 1024)
/* Stopping: an idle connection this long without a request is let go. */
#define SERVER_QUIET_MS		50
/* Accepting paused (no descriptors left): try again this often. */
#define SERVER_RETRY_ACCEPT_MS	100
/* Connections past their time limit are looked for this often: one walk
 * over them a second, not a timer each. */
#define SERVER_SCAN_MS		1000

struct server_conn {
	int			 fd;
	bool			 want_out;	/* EPOLLOUT is armed */
	bool			 close_when_sent;
	struct fcgi_stream	 fcgi;
	struct buf		 out;
	size_t			 out_sent;
	struct service_call	*call;
	struct request		 req;
	struct server_conn	*next;		/* on the pass's flush list */
	bool			 listed;
	struct server_conn	*all_prev, *all_next;
	bool			 busy;		/* see server_conn_mark() */
	int64_t			 since_ms;	/* went idle or busy then */
};

struct server {
	int			 epfd;
	int			 sigfd;		/* SIGTERM, SIGINT */
	int			 listen_fd;
	bool			 listening;
	bool			 accept_paused;	/* out of descriptors */
	volatile sig_atomic_t	*stop;
	struct service		*svc;
	struct server_limits	 limits;
	int64_t			 now_ms;	/* this pass's clock */
	int64_t			 next_scan_ms;
	int			 nconns;
	struct server_conn	*conns;		/* all of them */
	struct server_conn	*flush;		/* touched in this pass */
	struct service_call	*waiting[SERVER_EVENTS];
	size_t			 nwaiting;
	char			 rbuf[SERVER_READ_SIZE];
};

static bool	server_listen_on(struct server *, bool);
static void	server_accept(struct server *);
static void	server_conn_close(struct server *, struct server_conn *);
static void	server_touch(struct server *, struct server_conn *);
static void	server_read(struct server *, struct server_conn *);
static void	server_send(struct server *, struct server_conn *);
static bool	server_conn_idle(const struct server_conn *);
static void	server_conn_mark(struct server *, struct server_conn *);
static bool	server_has_input(const struct server_conn *);
static void	server_stopping(struct server *);
static void	server_close_stale(struct server *, int64_t);
static int	server_wait_ms(const struct server *);

int
server_listen(const char *spec, int backlog, int mode)
{
	const char *path = spec;
	int fd;

	if (strncmp(spec, "unix:", 5) == 0)
		path = spec + 5;
	/* libfcgi: a spec with ':' is host:port, anything else a path. */
	if ((fd = FCGX_OpenSocket(path, backlog)) < 0)
		return -1;
	if (path[0] == '/' || strncmp(spec, "unix:", 5) == 0) {
		if (chmod(path, (mode_t)mode) != 0) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* Adds or removes the listening socket; shared with the other workers,
 * so each wake-up goes to one of them (EPOLLEXCLUSIVE). */
static bool
server_listen_on(struct server *s, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE,
	    .data.ptr = NULL };

	if (on == s->listening)
		return true;
	if (epoll_ctl(s->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL,
	    s->listen_fd, &ev) != 0) {
		log_error("epoll_ctl on the listening socket: %s",
		    strerror(errno));
		return false;
	}
	s->listening = on;
	return true;
}

static void
server_accept(struct server *s)
{
	struct server_conn *c;
	struct epoll_event ev;
	int fd;

	while (s->nconns < s->limits.max_conns) {
		fd = accept4(s->listen_fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_error("accept: %s", strerror(errno));
				/* Until a connection closes. */
				s->accept_paused = server_listen_on(s, false);
			} else if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED) {
				log_error("accept: %s", strerror(errno));
			}
			return;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL ||
		    (c->call = service_call_new()) == NULL) {
			log_error("out of memory");
			free(c);
			close(fd);
			return;
		}
		c->fd = fd;
		fcgi_init(&c->fcgi, VALIDATE_BODY_MAX);
		/* An answer may hold a new token (create-app, rotate). */
		buf_init_sensitive(&c->out, SERVER_OUT_MAX);
		c->req.fcgi = &c->fcgi;
		c->req.out = &c->out;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			log_error("epoll_ctl: %s", strerror(errno));
			fcgi_free(&c->fcgi);
			buf_free(&c->out);
			service_call_free(c->call);
			free(c);
			close(fd);
			return;
		}
		c->since_ms = s->now_ms;
		c->all_next = s->conns;
		if (s->conns != NULL)
			s->conns->all_prev = c;
		s->conns = c;
		s->nconns++;
	}
	if (s->listening)
		s->accept_paused = server_listen_on(s, false);
}

static void
server_conn_close(struct server *s, struct server_conn *c)
{
	if (c->all_prev != NULL)
		c->all_prev->all_next = c->all_next;
	else
		s->conns = c->all_next;
	if (c->all_next != NULL)
		c->all_next->all_prev = c->all_prev;
	close(c->fd);		/* also leaves the epoll set */
	fcgi_free(&c->fcgi);
	buf_free(&c->out);
	explicit_bzero(&c->req, sizeof(c->req));
	service_call_free(c->call);
	free(c);
	s->nconns--;
	if (s->accept_paused && !*s->stop && server_listen_on(s, true))
		s->accept_paused = false;
}

/* Remembers a connection that may have bytes to send after this pass. */
static void
server_touch(struct server *s, struct server_conn *c)
{
	if (!c->listed) {
		c->listed = true;
		c->next = s->flush;
		s->flush = c;
	}
}

static void
server_read(struct server *s, struct server_conn *c)
{
	ssize_t got;
	size_t used;
	enum fcgi_status st;

	server_touch(s, c);
	got = read(c->fd, s->rbuf, sizeof(s->rbuf));
	if (got < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (got <= 0) {
		/* The web server closed (or reset) the connection: what is
		 * left to send goes nowhere. */
		c->close_when_sent = true;
		buf_reset(&c->out);
		c->out_sent = 0;
		return;
	}
	st = fcgi_feed(&c->fcgi, s->rbuf, (size_t)got, &used);
	/* The bytes read may hold an Authorization header: fcgi.c keeps
	 * what it needs (and wipes it once answered). */
	explicit_bzero(s->rbuf, (size_t)got);
	fcgi_take_replies(&c->fcgi, &c->out);
	if (st == FCGI_BROKEN) {
		log_warn("FastCGI protocol error: connection closed");
		c->close_when_sent = true;
		return;
	}
	server_conn_mark(s, c);
	if (st != FCGI_READY)
		return;
	/* Nothing may follow a request before its answer. */
	if (used < (size_t)got || !fcgi_keep_conn(&c->fcgi))
		c->close_when_sent = true;
	request_load(&c->req);
	if (service_begin(s->svc, c->call, &c->req))
		s->waiting[s->nwaiting++] = c->call;
}

/* Bytes (or an EOF) wait on the connection: it is not for closing now. */
static bool
server_has_input(const struct server_conn *c)
{
	char byte;

	return recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 ||
	    errno != EAGAIN;
}

/* A connection with no request under way and nothing left to send. */
static bool
server_conn_idle(const struct server_conn *c)
{
	return fcgi_idle(&c->fcgi) && c->out_sent == buf_len(&c->out);
}

/*
 * Starts the connection's clock when it goes busy (a request or record
 * begun, an answer waiting to go) or idle again.  A busy connection's
 * time limit runs from the start, not from its last byte: a peer that
 * trickles a record a byte at a time is cut off all the same.
 */
static void
server_conn_mark(struct server *s, struct server_conn *c)
{
	bool busy = !server_conn_idle(c);

	if (busy != c->busy) {
		c->busy = busy;
		c->since_ms = s->now_ms;
	}
}

static void
server_send(struct server *s, struct server_conn *c)
{
	struct epoll_event ev;
	ssize_t n;
	bool want_out;

	if (buf_failed(&c->out)) {
		server_conn_close(s, c);
		return;
	}
	while (c->out_sent < buf_len(&c->out)) {
		n = write(c->fd, buf_data(&c->out) + c->out_sent,
		    buf_len(&c->out) - c->out_sent);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			server_conn_close(s, c);	/* the peer is gone */
			return;
		}
		c->out_sent += (size_t)n;
	}
	server_conn_mark(s, c);
	if (c->out_sent == buf_len(&c->out)) {
		c->out_sent = 0;
		buf_reset_keep(&c->out, SERVER_OUT_KEEP);
		/* Stopping: each connection goes after its answer, unless
		 * the next request is already there (the next pass takes
		 * it). */
		if (c->close_when_sent || (*s->stop && server_conn_idle(c) &&
		    !server_has_input(c))) {
			server_conn_close(s, c);
			return;
		}
	}
	want_out = c->out_sent < buf_len(&c->out);
	if (want_out != c->want_out) {
		ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0);
		ev.data.ptr = c;
		if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
			server_conn_close(s, c);
			return;
		}
		c->want_out = want_out;
	}
}

/*
 * A stop: take what is queued on the socket (the master has removed its
 * path, so nothing new can arrive), stop listening, and let the idle
 * connections go.
 */
static void
server_stopping(struct server *s)
{
	if (s->listening || s->accept_paused) {
		server_accept(s);
		(void)server_listen_on(s, false);
		s->accept_paused = false;	/* for good */
	}
}

/*
 * Connections past their time limit (server.h): idle ones after idle_ms
 * (SERVER_QUIET_MS when stopping), busy ones after the record limit.
 * Bytes or an EOF waiting to be read spare a connection: the worker, not
 * the peer, was late (a long batch); the next pass reads them.  An answer
 * the peer does not take is not spared.  When stopping, nginx may still
 * pick an idle connection as it closes; it then retries the request once
 * (fastcgi_next_upstream), and gets 503 once the socket path is gone.
 */
static void
server_close_stale(struct server *s, int64_t idle_ms)
{
	struct server_conn *c, *next;
	int stalled = 0;

	for (c = s->conns; c != NULL; c = next) {
		next = c->all_next;
		if (s->now_ms - c->since_ms < (c->busy ?
		    s->limits.record_ms : idle_ms))
			continue;
		if (c->out_sent == buf_len(&c->out) && server_has_input(c))
			continue;
		stalled += c->busy;
		server_conn_close(s, c);
	}
	if (stalled > 0)
		log_warn("closed %d FastCGI connections stalled for %d ms",
		    stalled, s->limits.record_ms);
}

/* Until the next scan for stale connections, at most. */
static int
server_wait_ms(const struct server *s)
{
	int64_t left = s->next_scan_ms - s->now_ms;

	if (*s->stop)
		return SERVER_QUIET_MS;
	if (s->accept_paused)
		return SERVER_RETRY_ACCEPT_MS;
	if (s->nconns == 0)
		return -1;
	return left < 0 ? 0 : (int)left;
}

void
server_run(int listen_fd, volatile sig_atomic_t *stop, struct service *svc,
    const struct server_limits *limits)
{
	struct epoll_event events[SERVER_EVENTS];
	struct server *s;
	struct server_conn *c, *next;
	struct epoll_event sigev;
	struct signalfd_siginfo info;
	sigset_t term;
	int i, n, flags;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_error("out of memory");
		return;
	}
	s->epfd = -1;
	s->listen_fd = listen_fd;
	s->stop = stop;
	s->svc = svc;
	s->limits = *limits;
	/*
	 * Stop signals stay blocked and arrive as events, with the requests,
	 * so one is seen at the next pass even under a load that never lets
	 * the wait block (a signal unblocked only during epoll_pwait() would
	 * stay pending as long as events are ready).  One that came before
	 * this has set *stop through pool.c's handler.
	 */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigprocmask(SIG_BLOCK, &term, NULL);
	s->sigfd = signalfd(-1, &term, SFD_NONBLOCK | SFD_CLOEXEC);
	sigev.events = EPOLLIN;
	sigev.data.ptr = &s->sigfd;
	/* Every worker accepts without blocking: the flag on the shared
	 * socket suits them all. */
	flags = fcntl(listen_fd, F_GETFL);
	if (s->sigfd < 0 || (s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->sigfd, &sigev) != 0 ||
	    flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
	    !server_listen_on(s, true)) {
		log_error("cannot set up the event loop: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		s->now_ms = monotime_ms();
		if (*stop)
			server_stopping(s);
		if (*stop || s->now_ms >= s->next_scan_ms) {
			server_close_stale(s, *stop ? SERVER_QUIET_MS :
			    s->limits.idle_ms);
			s->next_scan_ms = s->now_ms + SERVER_SCAN_MS;
		}
		if (*stop && s->nconns == 0)
			break;
		n = epoll_wait(s->epfd, events, SERVER_EVENTS,
		    server_wait_ms(s));
		s->now_ms = monotime_ms();
		/* Out of descriptors earlier: try again (a close by another
		 * process may have freed some). */
		if (s->accept_paused && !*stop && server_listen_on(s, true))
			s->accept_paused = false;
		if (n < 0) {
			if (errno != EINTR) {
				log_error("epoll_wait: %s", strerror(errno));
				usleep(100000);
			}
			n = 0;
		}
		for (i = 0; i < n; i++) {
			c = events[i].data.ptr;
			if (events[i].data.ptr == &s->sigfd) {
				while (read(s->sigfd, &info, sizeof(info)) ==
				    (ssize_t)sizeof(info))
					*stop = 1;
			} else if (c == NULL)
				server_accept(s);
			else if (events[i].events & (EPOLLIN | EPOLLHUP |
			    EPOLLERR))
				server_read(s, c);
			else
				server_touch(s, c);	/* EPOLLOUT */
		}
		service_run_batch(s->svc, s->waiting, s->nwaiting);
		s->nwaiting = 0;
		s->now_ms = monotime_ms();	/* the batch took a while */
		for (c = s->flush, s->flush = NULL; c != NULL; c = next) {
			next = c->next;
			c->listed = false;
			server_send(s, c);
		}
	}
out:
	while (s->conns != NULL)
		server_conn_close(s, s->conns);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->sigfd >= 0)
		close(s->sigfd);
	free(s);
}
