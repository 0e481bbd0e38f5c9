/* SPDX-License-Identifier: Apache-2.0 */
/* llmtest.h - the LLM client set-up shared by the tests that talk to the
 * scripted fake server (fake_llm.h): fast settings and an open client. */
#ifndef LMNAS_TESTS_LLMTEST_H
#define LMNAS_TESTS_LLMTEST_H

#include "llm/llm.h"

/* llm_settings_default, then base_url url, model "test-model", connect
 * timeout 1 s, total 3 s, 3 attempts, backoff 10..40 ms, Retry-After
 * honoured up to 2 s, jitter seed 42. */
void llmtest_settings(struct llm_settings *s, const char *url);

/* llm_client_open(s); NULL after printing why. */
struct llm_client *llmtest_client(const struct llm_settings *s);

#endif
