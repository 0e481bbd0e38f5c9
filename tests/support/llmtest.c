/* SPDX-License-Identifier: Apache-2.0 */
/* llmtest.c - fast LLM client settings and client opening for the tests
 * that run against the fake server. */
#include "llmtest.h"

#include <stdio.h>

void llmtest_settings(struct llm_settings *s, const char *url)
{
	llm_settings_default(s);
	s->base_url = url;
	s->model = "test-model";
	s->connect_timeout_ms = 1000;
	s->timeout_ms = 3000;
	s->max_attempts = 3;
	s->backoff_base_ms = 10;
	s->backoff_max_ms = 40;
	s->retry_after_max_ms = 2000;
	s->seed = 42;
}

struct llm_client *llmtest_client(const struct llm_settings *s)
{
	struct llm_client *c = NULL;
	char err[CORE_ERR_LEN];

	if (llm_client_open(s, &c, err, sizeof err)) {
		fprintf(stderr, "# llm_client_open: %s\n", err);
		return NULL;
	}
	return c;
}
