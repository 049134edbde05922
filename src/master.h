/*
 * master.h — creating the master application (init-master), run once by
 * the operator or make run with the migrating admin's connection.
 */
#ifndef CLP_MASTER_H
#define CLP_MASTER_H

/*
 * Creates the MasterApp.  token_file: a file holding "<app_id>.<secret>"
 * to use instead of a generated token (NULL: generate one); token_out: the
 * file to write a generated token to (NULL: stdout).  Returns the process
 * exit status: 0 created, 3 a master exists already, 1 any other failure.
 */
int	master_init(const char *database, const char *token_file,
	    const char *token_out);

#endif
