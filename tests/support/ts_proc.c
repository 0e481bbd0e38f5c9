/* SPDX-License-Identifier: Apache-2.0 */
/* ts_proc.c - test support for processes: locations, running commands,
 * spawning and stopping `lmnas`, free ports, and the emergency cleanup that
 * kills what tests started when they die. */
#include "testsupport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

extern char **environ;

/* ---- locations ----------------------------------------------------------- */

const char *ts_root(void)
{
	static char cwd[1024];
	const char *r = getenv("LMNAS_ROOT");

	if (r && *r)
		return r;
	if (!cwd[0] && !getcwd(cwd, sizeof cwd))
		snprintf(cwd, sizeof cwd, ".");
	return cwd;
}

const char *ts_build(void)
{
	static char path[1100];
	const char *b = getenv("LMNAS_BUILD");

	if (b && *b)
		return b;
	if (!path[0])
		snprintf(path, sizeof path, "%s/build", ts_root());
	return path;
}

const char *ts_logs(void)
{
	const char *l = getenv("LMNAS_TEST_LOGS");

	return l && *l ? l : "/tmp";
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* ---- emergency cleanup -----------------------------------------------------
 */

#define CLEANUP_MAX 32
static pid_t cleanup_pids[CLEANUP_MAX];
static char cleanup_dirs[CLEANUP_MAX][64];
static int cleanup_armed;

static void cleanup_all(void)
{
	for (int i = 0; i < CLEANUP_MAX; i++) {
		if (cleanup_pids[i] > 0) {
			kill(cleanup_pids[i], SIGKILL);
			waitpid(cleanup_pids[i], NULL, 0);
			cleanup_pids[i] = 0;
		}
	}
	for (int i = 0; i < CLEANUP_MAX; i++) {
		if (cleanup_dirs[i][0]) {
			char dir[64];
			memcpy(dir, cleanup_dirs[i], sizeof dir);
			cleanup_dirs[i][0] = '\0';
			ts_pg_dir_destroy(dir);
		}
	}
}

static void on_fatal_signal(int sig)
{
	cleanup_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void cleanup_arm(void)
{
	if (cleanup_armed)
		return;
	cleanup_armed = 1;
	atexit(cleanup_all);
	signal(SIGINT, on_fatal_signal);
	signal(SIGTERM, on_fatal_signal);
	signal(SIGHUP, on_fatal_signal);
#if defined(__SANITIZE_ADDRESS__)
	__sanitizer_set_death_callback(cleanup_all);
#endif
}

void ts_cleanup_add_pid(pid_t pid)
{
	cleanup_arm();
	for (int i = 0; i < CLEANUP_MAX; i++) {
		if (cleanup_pids[i] == 0) {
			cleanup_pids[i] = pid;
			return;
		}
	}
}

void ts_cleanup_remove_pid(pid_t pid)
{
	for (int i = 0; i < CLEANUP_MAX; i++)
		if (cleanup_pids[i] == pid)
			cleanup_pids[i] = 0;
}

void ts_cleanup_add_pg(const char *dir)
{
	cleanup_arm();
	for (int i = 0; i < CLEANUP_MAX; i++) {
		if (!cleanup_dirs[i][0]) {
			snprintf(cleanup_dirs[i], sizeof cleanup_dirs[i], "%s",
				 dir);
			return;
		}
	}
}

void ts_cleanup_remove_pg(const char *dir)
{
	for (int i = 0; i < CLEANUP_MAX; i++)
		if (strcmp(cleanup_dirs[i], dir) == 0)
			cleanup_dirs[i][0] = '\0';
}

/* ---- processes -------------------------------------------------------------
 */

static int exit_code_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/* Forks and execs path with argv and envp (NULL: environ), output to log
 * (appended when append is set). The child dies with the test. */
static pid_t spawn(const char *path, char *const argv[], char *const envp[],
		   const char *log, int append)
{
	int fd =
	    open(log ? log : "/dev/null",
		 O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC),
		 0644);
	pid_t pid;

	if (fd < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (envp)
			execve(path, argv, envp);
		else
			execvp(path, argv);
		_exit(127);
	}
	close(fd);
	if (pid > 0)
		ts_cleanup_add_pid(pid);
	return pid;
}

/* Waits up to timeout_s for pid; exit code, or -1 on timeout (not killed). */
static int wait_for(pid_t pid, double timeout_s)
{
	double end = now_s() + timeout_s;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			ts_cleanup_remove_pid(pid);
			return exit_code_of(status);
		}
		if (r < 0 && errno != EINTR) {
			ts_cleanup_remove_pid(pid);
			return -1;
		}
		if (now_s() > end)
			return -1;
		sleep_ms(10);
	}
}

int ts_run_cmd(char *const argv[], const char *log_path, double timeout_s)
{
	pid_t pid = spawn(argv[0], argv, NULL, log_path, 1);
	int rc;

	if (pid < 0)
		return -1;
	rc = wait_for(pid, timeout_s);
	if (rc == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		ts_cleanup_remove_pid(pid);
	}
	return rc;
}

/* environ without LMNAS_*, then extra, then the defaults extra does not set.
 * One malloc'd array; the strings are borrowed. */
static char **build_env(const char *const *extra, const char *const *defaults)
{
	size_t n = 0, k = 0;
	char **envp;

	for (char **e = environ; *e; e++)
		n++;
	for (const char *const *e = extra; e && *e; e++)
		n++;
	for (const char *const *e = defaults; e && *e; e++)
		n++;
	envp = calloc(n + 1, sizeof *envp);
	if (!envp)
		return NULL;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "LMNAS_", 6) != 0)
			envp[k++] = *e;
	for (const char *const *e = extra; e && *e; e++)
		envp[k++] = (char *)*e;
	for (const char *const *d = defaults; d && *d; d++) {
		size_t klen = strcspn(*d, "=") + 1;
		int set = 0;
		for (const char *const *e = extra; e && *e && !set; e++)
			set = strncmp(*e, *d, klen) == 0;
		if (!set)
			envp[k++] = (char *)*d;
	}
	envp[k] = NULL;
	return envp;
}

static void log_path_for(struct ts_proc *p, const char *what)
{
	static int counter;
	extern char *program_invocation_short_name;

	snprintf(p->log, sizeof p->log, "%s/%s.%s.%d.log", ts_logs(),
		 program_invocation_short_name, what, ++counter);
}

static pid_t spawn_lmnas(struct ts_proc *p, const char *const *args,
			 const char *const *env, const char *const *defaults)
{
	char bin[1200];
	char *argv[16];
	char **envp = build_env(env, defaults);
	int n = 0;
	pid_t pid;

	if (!envp)
		return -1;
	snprintf(bin, sizeof bin, "%s/asan/lmnas", ts_build());
	argv[n++] = "lmnas";
	for (; args && *args && n < 15; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	log_path_for(p, argv[1] ? argv[1] : "lmnas");
	pid = spawn(bin, argv, envp, p->log, 0);
	free(envp);
	return pid;
}

int ts_lmnas_run(struct ts_proc *p, const char *const *args,
		 const char *const *env)
{
	pid_t pid;

	memset(p, 0, sizeof *p);
	pid = spawn_lmnas(p, args, env, NULL);
	if (pid < 0)
		return -1;
	p->exit_code = wait_for(pid, 60);
	if (p->exit_code == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		ts_cleanup_remove_pid(pid);
	}
	return p->exit_code;
}

int ts_free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int port = -1;

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

int ts_proc_alive(struct ts_proc *p)
{
	int status;

	if (p->pid <= 0)
		return 0;
	if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
		ts_cleanup_remove_pid(p->pid);
		p->exit_code = exit_code_of(status);
		p->pid = 0;
		return 0;
	}
	return 1;
}

int ts_proc_stop(struct ts_proc *p, int sig, double timeout_s)
{
	int rc;

	if (p->pid <= 0)
		return p->exit_code;
	if (sig)
		kill(p->pid, sig);
	rc = wait_for(p->pid, timeout_s);
	if (rc == -1) {
		ts_proc_kill(p);
		return -1;
	}
	p->exit_code = rc;
	p->pid = 0;
	return rc;
}

void ts_proc_kill(struct ts_proc *p)
{
	if (p->pid <= 0)
		return;
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
	ts_cleanup_remove_pid(p->pid);
	p->pid = 0;
	p->exit_code = 128 + SIGKILL;
}

char *ts_proc_log_read(const struct ts_proc *p)
{
	FILE *f = fopen(p->log, "rb");
	char *buf;
	long n;

	if (!f)
		return calloc(1, 1);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc((size_t)(n > 0 ? n : 0) + 1, 1);
	if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

int ts_lmnas_serve(struct ts_proc *p, const char *const *env)
{
	static const char *const args[] = {"serve", NULL};
	char listen[64], web[1200];
	const char *defaults[] = {listen, web, NULL};

	snprintf(web, sizeof web, "LMNAS_WEB_DIR=%s/web/static", ts_root());
	for (int attempt = 0; attempt < 3; attempt++) {
		double end = now_s() + 20;
		int port = ts_free_port();

		memset(p, 0, sizeof *p);
		if (port <= 0)
			return -1;
		snprintf(listen, sizeof listen, "LMNAS_LISTEN=127.0.0.1:%d",
			 port);
		p->port = port;
		snprintf(p->base, sizeof p->base, "http://127.0.0.1:%d", port);
		p->pid = spawn_lmnas(p, args, env, defaults);
		if (p->pid < 0)
			return -1;
		while (now_s() < end) {
			struct ts_http_reply r;
			char url[128];
			int up;

			if (!ts_proc_alive(p)) {
				char *log = ts_proc_log_read(p);
				int in_use = log && strstr(log, "in use");
				free(log);
				if (in_use)
					break; /* the port was taken: again */
				return -1;
			}
			snprintf(url, sizeof url, "%s/healthz", p->base);
			ts_http("GET", url, NULL, NULL, 0, 1.0, &r);
			up = r.status == 200;
			ts_http_reply_free(&r);
			if (up)
				return 0;
			sleep_ms(30);
		}
		if (p->pid > 0) {
			ts_proc_kill(p);
			return -1;
		}
	}
	return -1;
}

int ts_lmnas_spawn(struct ts_proc *p, const char *const *args,
		   const char *const *env)
{
	memset(p, 0, sizeof *p);
	p->pid = spawn_lmnas(p, args, env, NULL);
	if (p->pid < 0) {
		p->pid = 0;
		return -1;
	}
	return 0;
}
