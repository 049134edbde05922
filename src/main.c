/*
 * main.c — options and environment, then wiring: the pool runs workers,
 * each worker serves requests with the service.  No request is seen here.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "master.h"
#include "metrics.h"
#include "pool.h"
#include "request.h"
#include "server.h"
#include "token.h"
#include "validate.h"

#define DEFAULT_LISTEN		"unix:/run/clp/clp.sock"
#define DEFAULT_SOCKET_MODE	"0660"
#define LISTEN_BACKLOG		1024
#define GRACE_SECONDS		30
/*
 * Database connections of the whole pool, by default: each worker gets
 * its share (at least one, at most DB_CONNS_MAX).  Writes are spread over
 * a worker's connections so that this many commits can wait on the WAL
 * together and share its flushes.  Sixteen is where pgbench's own write
 * rate peaks on two cores; twice that cost PostgreSQL more CPU per commit
 * (more backends contending for the WAL) and wrote no faster
 * (docs/PERFORMANCE.md); it leaves most of PostgreSQL's default
 * max_connections (100) to everything else.
 */
#define DEFAULT_DB_CONNECTIONS	16

struct options {
	const char	*listen;
	const char	*database;
	const char	*read_database;	/* a replica for reads, or NULL */
	const char	*socket_mode;
	const char	*token_file;	/* init-master */
	const char	*token_out;	/* init-master */
	int		 workers;
	const char	*idle_timeout;	/* seconds */
	const char	*record_timeout;	/* seconds */
	const char	*max_conns;
	const char	*db_connections;	/* per worker */
};

struct worker_arg {
	int			 listen_fd;
	const char		*database;
	const char		*read_database;
	const char		*socket_path;	/* a unix socket's path, or NULL */
	struct server_limits	 limits;
	int			 db_connections;
};

static bool	no_core_dumps(void);
static void	usage(FILE *);
static int	env_int(const char *, int);
static bool	int_option(const char *, const char *, int, int, int, int *);
static void	serve(void *, volatile sig_atomic_t *);
static void	stop_listening(void *);
static bool	stdin_is_listener(void);
static bool	role_allowed(const char *);
static int	default_db_connections(int);

/*
 * A process's memory holds tokens: the ones in flight, the workers' cache
 * of verified secrets, init-master's new one.  No core file may take them
 * to disk, and no other process of the same user may read that memory
 * (not dumpable: ptrace and /proc/PID/mem need root).  Set before the pool
 * forks, so the workers inherit both; a lone worker and init-master run
 * this too.
 */
static bool
no_core_dumps(void)
{
	static const struct rlimit none = { 0, 0 };
	struct rlimit now;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return false;
	/* Under systemd LimitCORE=0 has done it already, and its system call
	 * filter may refuse setrlimit. */
	if (getrlimit(RLIMIT_CORE, &now) == 0 && now.rlim_cur == 0 &&
	    now.rlim_max == 0)
		return true;
	return setrlimit(RLIMIT_CORE, &none) == 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: clp.fcgi [options]                 run the FastCGI worker pool\n"
"       clp.fcgi init-master [options]     create the master application\n"
"\n"
"  -l, --listen SPEC     unix:/path, /path or host:port to listen on\n"
"                        (env CLP_LISTEN; default " DEFAULT_LISTEN ").\n"
"                        Without it, a listening socket on stdin (as\n"
"                        spawn-fcgi gives) is served by one worker.\n"
"  -w, --workers N       worker processes (env CLP_WORKERS; default: CPUs)\n"
"  -m, --socket-mode M   octal mode of a unix socket (env CLP_SOCKET_MODE;\n"
"                        default " DEFAULT_SOCKET_MODE ")\n"
"      --idle-timeout S  close a FastCGI connection idle for S seconds (env\n"
"                        CLP_IDLE_TIMEOUT; default %d).  Keep it above the\n"
"                        web server's keep-alive time for upstream\n"
"                        connections (nginx keepalive_timeout: 60 s).\n"
"      --record-timeout S  close a connection whose request or record is\n"
"                        not complete S seconds after it began, or whose\n"
"                        answer is not taken within S seconds (env\n"
"                        CLP_RECORD_TIMEOUT; default %d)\n"
"      --max-conns N     connections per worker; past it the worker accepts\n"
"                        again once one closes (env CLP_MAX_CONNS; default\n"
"                        %d)\n"
"      --db-connections N  database connections per worker, 1..%d: a\n"
"                        worker's writes are spread over them so their\n"
"                        commits share WAL flushes (env CLP_DB_CONNECTIONS;\n"
"                        default %d / workers).  The pool holds workers x N\n"
"                        connections: keep that within max_connections.\n"
"  -h, --help            this text\n"
"\n"
"The database: env CLP_DATABASE_URL, a libpq connection string or URL\n"
"(default: libpq's PG* variables), never an option: a command line is\n"
"visible to every local user.  The pool refuses to start as a superuser\n"
"or as a role holding any privilege on a table (use clp_service).\n"
"env CLP_READ_DATABASE_URL (optional): a streaming replica of it, same\n"
"login rules; balance and history reads go there (the caller is still\n"
"checked on the primary), and to the primary while it is down.\n"
"\n"
"init-master: connects with CLP_DATABASE_URL as the migrating admin and\n"
"creates the single MasterApp.  The token is generated, or read from the\n"
"file in\n"
"env CLP_MASTER_TOKEN_FILE (--token-file), which must hold a token of the\n"
"form <app_id>.<secret> (secret: at least 43 printable characters).  It is\n"
"written to --out FILE (mode 0600) if given, else printed on stdout.\n"
"Exit status 3 if a master application exists already.\n",
	    SERVER_IDLE_TIMEOUT_S, SERVER_RECORD_TIMEOUT_S, SERVER_MAX_CONNS,
	    DB_CONNS_MAX, DEFAULT_DB_CONNECTIONS);
}

static int
env_int(const char *name, int fallback)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? atoi(v) : fallback;
}

/* An option's integer within [min, max]: fallback if unset; false (and
 * a message) if it is not a number in range. */
static bool
int_option(const char *name, const char *text, int fallback, int min,
    int max, int *out)
{
	char *end;
	long v;

	if (text == NULL || *text == '\0') {
		*out = fallback;
		return true;
	}
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "clp.fcgi: %s must be %d..%d\n", name, min, max);
		return false;
	}
	*out = (int)v;
	return true;
}

static void
serve(void *arg, volatile sig_atomic_t *stop)
{
	const struct worker_arg *w = arg;
	struct service *svc;

	if ((svc = service_new(w->database, (size_t)w->db_connections,
	    w->read_database)) == NULL) {
		log_error("out of memory");
		return;
	}
	server_run(w->listen_fd, stop, svc, &w->limits);
	service_free(svc);
	validate_cleanup();
	token_cleanup();
}

/*
 * The master's first step of a stop: with the path gone nginx can no
 * longer connect (it answers 503 at once), while the workers accept and
 * serve every connection already queued before they exit.
 */
static void
stop_listening(void *arg)
{
	const struct worker_arg *w = arg;

	if (w->socket_path != NULL && unlink(w->socket_path) != 0)
		log_warn("cannot remove %s: %s", w->socket_path,
		    strerror(errno));
}

/* spawn-fcgi hands the worker a listening socket as fd 0. */
static bool
stdin_is_listener(void)
{
	int listening = 0;
	socklen_t len = sizeof(listening);

	return getsockopt(STDIN_FILENO, SOL_SOCKET, SO_ACCEPTCONN, &listening,
	    &len) == 0 && listening;
}

/* Each worker's share of DEFAULT_DB_CONNECTIONS. */
static int
default_db_connections(int workers)
{
	int n = workers > 0 ? DEFAULT_DB_CONNECTIONS / workers : 1;

	return n < 1 ? 1 : n > DB_CONNS_MAX ? DB_CONNS_MAX : n;
}

/*
 * The pool does not start with a login that could do more than execute the
 * API (db_connect says why).  A database that is down is no reason not to
 * start: requests answer 503 until it is back, and each worker checks its
 * own connections the same way.
 */
static bool
role_allowed(const char *conninfo)
{
	struct db db;
	bool refused;

	db_init(&db, conninfo, DB_ROLE_SERVICE, NULL, 0);
	(void)db_connect(&db);
	refused = db.role_refused;
	db_close(&db);
	return !refused;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "token-file", required_argument, NULL, 't' },
		{ "idle-timeout", required_argument, NULL, 'I' },
		{ "record-timeout", required_argument, NULL, 'R' },
		{ "max-conns", required_argument, NULL, 'C' },
		{ "db-connections", required_argument, NULL, 'D' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct options o;
	struct worker_arg w;
	struct pool_options po;
	bool master_cmd = false;
	int ch;

	if (!no_core_dumps()) {
		log_error("cannot disable core dumps: %s", strerror(errno));
		return 1;
	}
	memset(&o, 0, sizeof(o));
	o.listen = getenv("CLP_LISTEN");
	o.database = getenv("CLP_DATABASE_URL");
	o.read_database = getenv("CLP_READ_DATABASE_URL");
	o.socket_mode = getenv("CLP_SOCKET_MODE") ? getenv("CLP_SOCKET_MODE") :
	    DEFAULT_SOCKET_MODE;
	o.token_file = getenv("CLP_MASTER_TOKEN_FILE");
	if (o.token_file != NULL && *o.token_file == '\0')
		o.token_file = NULL;
	o.workers = env_int("CLP_WORKERS", (int)sysconf(_SC_NPROCESSORS_ONLN));
	o.idle_timeout = getenv("CLP_IDLE_TIMEOUT");
	o.record_timeout = getenv("CLP_RECORD_TIMEOUT");
	o.max_conns = getenv("CLP_MAX_CONNS");
	o.db_connections = getenv("CLP_DB_CONNECTIONS");
	if (argc > 1 && strcmp(argv[1], "init-master") == 0) {
		master_cmd = true;
		argc--;
		argv++;
	}
	while ((ch = getopt_long(argc, argv, "l:w:m:t:o:h", longopts, NULL))
	    != -1) {
		switch (ch) {
		case 'l': o.listen = optarg; break;
		case 'w': o.workers = atoi(optarg); break;
		case 'm': o.socket_mode = optarg; break;
		case 't': o.token_file = optarg; break;
		case 'o': o.token_out = optarg; break;
		case 'I': o.idle_timeout = optarg; break;
		case 'R': o.record_timeout = optarg; break;
		case 'C': o.max_conns = optarg; break;
		case 'D': o.db_connections = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (master_cmd)
		return master_init(o.database, o.token_file, o.token_out);

	if (!int_option("the idle timeout", o.idle_timeout,
	    SERVER_IDLE_TIMEOUT_S, 1, 86400, &w.limits.idle_ms) ||
	    !int_option("the record timeout", o.record_timeout,
	    SERVER_RECORD_TIMEOUT_S, 1, 86400, &w.limits.record_ms) ||
	    !int_option("the connection limit", o.max_conns, SERVER_MAX_CONNS,
	    1, 1 << 20, &w.limits.max_conns) ||
	    !int_option("the database connections per worker",
	    o.db_connections, default_db_connections(o.workers), 1,
	    DB_CONNS_MAX, &w.db_connections))
		return 2;
	w.limits.idle_ms *= 1000;
	w.limits.record_ms *= 1000;
	if (!role_allowed(o.database) || (o.read_database != NULL &&
	    *o.read_database != '\0' && !role_allowed(o.read_database)))
		return 1;
	/* Before any fork: every worker adds to the same counters. */
	if (!metrics_init()) {
		log_error("cannot map the metrics: %s", strerror(errno));
		return 1;
	}
	w.database = o.database;
	w.read_database = o.read_database;
	w.socket_path = NULL;
	if ((o.listen == NULL || *o.listen == '\0') && stdin_is_listener()) {
		w.listen_fd = STDIN_FILENO;
		log_info("serving the socket on stdin with one worker");
		return pool_run_single(serve, &w);
	}
	if (o.listen == NULL || *o.listen == '\0')
		o.listen = DEFAULT_LISTEN;
	w.listen_fd = server_listen(o.listen, LISTEN_BACKLOG,
	    (int)strtol(o.socket_mode, NULL, 8));
	if (w.listen_fd < 0) {
		log_error("cannot listen on %s: %s", o.listen, strerror(errno));
		return 1;
	}
	log_info("listening on %s", o.listen);
	/* libfcgi takes a spec without ':' as a path (see server_listen). */
	if (strncmp(o.listen, "unix:", 5) == 0)
		w.socket_path = o.listen + 5;
	else if (strchr(o.listen, ':') == NULL)
		w.socket_path = o.listen;
	po.workers = o.workers;
	po.fn = serve;
	po.arg = &w;
	po.grace_seconds = GRACE_SECONDS;
	po.on_stop = stop_listening;
	return pool_run(&po);
}
