/*
 * master.c — `clp.fcgi init-master`: create the single MasterApp with a
 * generated token (shown once) or one the operator supplies.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "master.h"
#include "token.h"

static bool	read_token_file(const char *, struct token *);

static bool
read_token_file(const char *path, struct token *t)
{
	char buf[TOKEN_MAX + 4];
	ssize_t n = -1;
	bool ok = false;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof(buf));
		close(fd);
	}
	if (n <= 0 || (size_t)n >= sizeof(buf))
		goto out;
	/* A file usually ends with a newline; the token itself has no space. */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	ok = token_parse(buf, (size_t)n, t) &&
	    t->secret_len >= TOKEN_SECRET_LEN;
out:
	explicit_bzero(buf, sizeof(buf));
	return ok;
}

/*
 * The token file is opened (created, 0600, never over an existing one)
 * before the master is created, so a token can never be made that has
 * nowhere to go.
 */
int
master_init(const char *database, const char *token_file,
    const char *token_out)
{
	char secret[TOKEN_SECRET_LEN + 1], hash[TOKEN_HASH_MAX];
	char app_id[VALIDATE_APP_ID_MAX + 1], token[TOKEN_MAX + 2];
	struct token given;
	struct db db;
	enum clp_err err;
	int status = 1, out_fd = -1, n;

	db_init(&db, database, DB_ROLE_ADMIN, NULL, 0);
	memset(&given, 0, sizeof(given));
	secret[0] = token[0] = '\0';
	if (token_file != NULL) {
		if (!read_token_file(token_file, &given)) {
			fprintf(stderr, "init-master: %s: not a readable token"
			    " of the form <app_id>.<secret>\n", token_file);
			goto out;
		}
	} else if (!token_new_secret(secret)) {
		fprintf(stderr, "init-master: getrandom failed\n");
		goto out;
	}
	if (token_file == NULL && token_out != NULL &&
	    (out_fd = open(token_out, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "init-master: cannot create %s: %s\n",
		    token_out, strerror(errno));
		goto out;
	}
	if (!token_hash(token_file ? given.secret : secret, hash,
	    sizeof(hash))) {
		fprintf(stderr, "init-master: libcrypt failed\n");
		goto out;
	}
	err = db_create_master(&db, hash, token_file ? given.app_id : NULL,
	    app_id, sizeof(app_id));
	if (err != CLP_OK) {
		fprintf(stderr, "init-master: %s\n",
		    err == CLP_ERR_MASTER_EXISTS ?
		    "a master application exists" : error_info(err)->code);
		status = err == CLP_ERR_MASTER_EXISTS ? 3 : 1;
		goto out;
	}
	if (token_file != NULL) {
		fprintf(stderr, "init-master: master application %s created"
		    " with the supplied token\n", app_id);
		status = 0;
		goto out;
	}
	n = snprintf(token, sizeof(token), "%s.%s\n", app_id, secret);
	if (n < 0 || (size_t)n >= sizeof(token)) {
		fprintf(stderr, "init-master: token too long\n");
		goto out;
	}
	if (out_fd >= 0) {
		if (write(out_fd, token, (size_t)n) != n ||
		    fsync(out_fd) != 0) {
			fprintf(stderr, "init-master: cannot write %s: %s\n",
			    token_out, strerror(errno));
			goto out;
		}
	} else {
		fputs(token, stdout);
	}
	status = 0;
out:
	if (out_fd >= 0) {
		if (close(out_fd) != 0)
			status = 1;
		/* Keep the file only if it holds the master's token. */
		if (status != 0)
			unlink(token_out);
	}
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(token, sizeof(token));
	explicit_bzero(&given, sizeof(given));
	db_close(&db);
	token_cleanup();
	return status;
}

